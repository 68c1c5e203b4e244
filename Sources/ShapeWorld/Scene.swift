import Foundation
import VideoCommon

/// How the world paints each colour of its vocabulary (`WorldColor`, defined with the rest of the
/// words in VideoCommon): saturated, well-separated values; backgrounds stay muted and mid-grey so
/// every colour contrasts.
extension WorldColor {
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

public struct SceneObject: Codable, Equatable, Sendable {
    public var color: WorldColor
    public var shape: WorldShape
    public var motion: ObjectMotion
    /// The fill the prompt names; nil when it names none (the world then decides: solid in the coarse
    /// world, one of the three at random in the fine one).
    public var fill: ObjectFill?
    public init(_ color: WorldColor, _ shape: WorldShape, _ motion: ObjectMotion = .still, fill: ObjectFill? = nil) {
        self.color = color
        self.shape = shape
        self.motion = motion
        self.fill = fill
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
