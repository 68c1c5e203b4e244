import Foundation

/// The vocabulary of the embedded world. Every attribute is one word or a fixed phrase, so the
/// hashed text encoder sees the same token for the same meaning.
public enum WorldColor: String, CaseIterable, Codable, Sendable {
    case red, orange, yellow, green, blue, purple, pink, black, white

    /// Saturated, well-separated values; backgrounds stay muted and mid-grey so every colour contrasts.
    public var rgb: (Float, Float, Float) {
        switch self {
        case .red: return (0.90, 0.10, 0.10)
        case .orange: return (1.00, 0.55, 0.00)
        case .yellow: return (0.95, 0.90, 0.05)
        case .green: return (0.10, 0.75, 0.15)
        case .blue: return (0.10, 0.25, 0.95)
        case .purple: return (0.55, 0.10, 0.80)
        case .pink: return (1.00, 0.45, 0.75)
        case .black: return (0.02, 0.02, 0.02)
        case .white: return (0.98, 0.98, 0.98)
        }
    }
}

public enum WorldShape: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle, diamond
}

/// What an object does over the clip.
public enum ObjectMotion: String, CaseIterable, Codable, Sendable {
    case still
    case left = "moving left", right = "moving right", up = "moving up", down = "moving down"
    case growing, shrinking
}

/// What the camera does. "pan left" turns the camera left, so the scene slides RIGHT in the frame;
/// "tilt up" makes it slide DOWN; "zoom in" makes it grow about the centre.
public enum CameraMotion: String, CaseIterable, Codable, Sendable {
    case still
    case panLeft = "panning left", panRight = "panning right", tiltUp = "tilting up", tiltDown = "tilting down"
    case zoomIn = "zooming in", zoomOut = "zooming out"

    /// VBench's camera vocabulary ("pan left", "zoom in", ...), as the suite's aux info names it.
    public var vbenchName: String {
        switch self {
        case .still: return "still"
        case .panLeft: return "pan left"
        case .panRight: return "pan right"
        case .tiltUp: return "tilt up"
        case .tiltDown: return "tilt down"
        case .zoomIn: return "zoom in"
        case .zoomOut: return "zoom out"
        }
    }
}

public enum Relation: String, CaseIterable, Codable, Sendable {
    case leftOf = "on the left of", rightOf = "on the right of", above = "on the top of", below = "on the bottom of"
}

public enum Background: String, CaseIterable, Codable, Sendable {
    case plain, gradient, textured
}

public struct SceneObject: Codable, Equatable, Sendable {
    public var color: WorldColor
    public var shape: WorldShape
    public var motion: ObjectMotion
    public init(_ color: WorldColor, _ shape: WorldShape, _ motion: ObjectMotion = .still) {
        self.color = color
        self.shape = shape
        self.motion = motion
    }
}

/// Everything a prompt states: one object (with motion, camera) or two objects in a relation.
public struct SceneSpec: Codable, Equatable, Sendable {
    public var objects: [SceneObject]
    /// objects[0] relative to objects[1]; nil for one object.
    public var relation: Relation?
    public var camera: CameraMotion
    public var background: Background

    public init(objects: [SceneObject], relation: Relation? = nil, camera: CameraMotion = .still, background: Background = .plain) {
        self.objects = objects
        self.relation = relation
        self.camera = camera
        self.background = background
    }
}
