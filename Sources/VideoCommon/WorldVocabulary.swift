import Foundation

// The vocabulary of the embedded world, defined once: the world's grammar and renderer speak it, the
// scorer's semantic checks read it (or a suite's world facts), the tests build scenes from it. Every
// attribute is one word or a fixed phrase, so the hashed text encoder sees the same token for the same
// meaning.

/// The world's colours: exactly VBench's nine colour words (`color.py`).
public enum WorldColor: String, CaseIterable, Codable, Sendable {
    case red, orange, yellow, green, blue, purple, pink, black, white
}

public enum WorldShape: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle, diamond
}

/// What an object does over the clip.
public enum ObjectMotion: String, CaseIterable, Codable, Sendable {
    case still
    case left = "moving left", right = "moving right", up = "moving up", down = "moving down"
    case growing, shrinking

    /// The motion a name gives: its phrase ("moving left"), its bare direction ("left"), or a word for
    /// none ("still", "static", "none"); nil for anything else.
    public init?(name: String) {
        let n = name.lowercased().trimmingCharacters(in: .whitespaces)
        if let m = ObjectMotion(rawValue: n) { self = m; return }
        if let m = ObjectMotion.allCases.first(where: { $0.rawValue == "moving " + n }) { self = m; return }
        if ["static", "none"].contains(n) { self = .still; return }
        return nil
    }

    /// Its effect in world coordinates: (x, y, size) each -1, 0 or +1 (y grows downwards).
    public var effect: (x: Int, y: Int, size: Int) {
        switch self {
        case .still: return (0, 0, 0)
        case .left: return (-1, 0, 0)
        case .right: return (1, 0, 0)
        case .up: return (0, -1, 0)
        case .down: return (0, 1, 0)
        case .growing: return (0, 0, 1)
        case .shrinking: return (0, 0, -1)
        }
    }
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

    /// The camera motion a VBench name ("pan left") or the world's phrase ("panning left") gives, or a
    /// word for none ("still", "static", "steady", "none"); nil for anything else.
    public init?(name: String) {
        let n = name.lowercased().trimmingCharacters(in: .whitespaces)
        if let c = CameraMotion(rawValue: n) ?? CameraMotion.allCases.first(where: { $0.vbenchName == n }) { self = c; return }
        if ["static", "steady", "none"].contains(n) { self = .still; return }
        return nil
    }

    /// Its effect on screen: (x, y, zoom) each -1, 0 or +1. Panning left slides the scene right (+x),
    /// tilting up slides it down (+y), zooming in makes it grow.
    public var screenEffect: (x: Int, y: Int, zoom: Int) {
        switch self {
        case .still: return (0, 0, 0)
        case .panLeft: return (1, 0, 0)
        case .panRight: return (-1, 0, 0)
        case .tiltUp: return (0, 1, 0)
        case .tiltDown: return (0, -1, 0)
        case .zoomIn: return (0, 0, 1)
        case .zoomOut: return (0, 0, -1)
        }
    }
}

/// Where objects[0] is relative to objects[1]: VBench's four spatial relationships.
public enum Relation: String, CaseIterable, Codable, Sendable {
    case leftOf = "on the left of", rightOf = "on the right of", above = "on the top of", below = "on the bottom of"
}

/// The background kinds a prompt names ("plain background", ...).
public enum Background: String, CaseIterable, Codable, Sendable {
    case plain, gradient, textured
}


/// How an object is filled, a word a prompt may put before the colour ("a striped red circle"):
/// solid, stripes (one orientation) or checks (two). A prompt that names none leaves it open: the
/// coarse world draws every object solid, the fine world draws one of the three at random.
public enum ObjectFill: String, CaseIterable, Codable, Sendable {
    case solid, striped, checked
}

/// Which world renders a prompt: `coarse` is the original world (one object near the centre, solid
/// fills, low-frequency backgrounds), bit for bit; `fine` adds detail a prompt leaves open (fine
/// background texture that moves with the camera, random fills on objects, small specks fixed in the
/// world) and wider layouts. A suite's world facts and a model package name it; absent means coarse.
public enum WorldDetail: String, CaseIterable, Codable, Sendable {
    case coarse, fine

    /// The spellings, "coarse, fine": for messages and help.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Refuses an unknown spelling naming the allowed ones (as TensorCore's `NamedChoice`, which this
    /// leaf module cannot see).
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = WorldDetail(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be one of \(Self.names) (got \"\(text)\")")
        }
        self = value
    }
}
