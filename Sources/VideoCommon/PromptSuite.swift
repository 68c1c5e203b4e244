import Foundation

/// One prompt of a suite, in the layout of VBench's `VBench_full_info.json`:
/// `{"prompt_en": ..., "dimension": [...], "auxiliary_info": {dimension: {...}}}`.
///
/// VBench's own keys are kept as VBench writes them (`color.color`, `object_class.object`,
/// `multiple_objects.object` = "A and B", `spatial_relationship.spatial_relationship.{object_a, object_b,
/// relationship}`, `scene.scene`, `appearance_style`). tdm-video adds two keys that VBench leaves
/// without auxiliary info, so that temporal style and overall consistency can be checked on our world:
/// `temporal_style` (`camera_motion`, `object_motion`) and `world` (the full scene, every checkable fact).
public struct PromptEntry: Codable, Sendable, Equatable {
    public var promptEn: String
    public var dimension: [String]
    public var auxiliaryInfo: AuxiliaryInfo?

    public init(promptEn: String, dimension: [String], auxiliaryInfo: AuxiliaryInfo? = nil) {
        self.promptEn = promptEn
        self.dimension = dimension
        self.auxiliaryInfo = auxiliaryInfo
    }

    /// The world this prompt's clips come from (its world facts' `detail`; coarse when absent).
    public var worldDetail: WorldDetail { auxiliaryInfo?.world?.detail ?? .coarse }

    enum CodingKeys: String, CodingKey {
        case promptEn = "prompt_en"
        case dimension
        case auxiliaryInfo = "auxiliary_info"
    }
}

/// Auxiliary info keyed by VBench dimension name. Every field is optional.
public struct AuxiliaryInfo: Codable, Sendable, Equatable {
    public var color: ColorInfo?
    public var objectClass: ObjectInfo?
    public var multipleObjects: ObjectInfo?
    public var spatialRelationship: SpatialInfo?
    public var scene: SceneInfo?
    public var appearanceStyle: String?
    public var temporalStyle: TemporalStyleInfo?
    public var world: WorldFacts?

    public init(color: ColorInfo? = nil, objectClass: ObjectInfo? = nil, multipleObjects: ObjectInfo? = nil,
                spatialRelationship: SpatialInfo? = nil, scene: SceneInfo? = nil, appearanceStyle: String? = nil,
                temporalStyle: TemporalStyleInfo? = nil, world: WorldFacts? = nil) {
        self.color = color
        self.objectClass = objectClass
        self.multipleObjects = multipleObjects
        self.spatialRelationship = spatialRelationship
        self.scene = scene
        self.appearanceStyle = appearanceStyle
        self.temporalStyle = temporalStyle
        self.world = world
    }

    enum CodingKeys: String, CodingKey {
        case color
        case objectClass = "object_class"
        case multipleObjects = "multiple_objects"
        case spatialRelationship = "spatial_relationship"
        case scene
        case appearanceStyle = "appearance_style"
        case temporalStyle = "temporal_style"
        case world
    }
}

/// `{"color": "red"}`; one of VBench's nine colours.
public struct ColorInfo: Codable, Sendable, Equatable {
    public var color: String
    public init(color: String) { self.color = color }
}

/// `{"object": "circle"}` or, for multiple objects, `{"object": "circle and square"}`.
public struct ObjectInfo: Codable, Sendable, Equatable {
    public var object: String
    public init(object: String) { self.object = object }
}

/// `{"spatial_relationship": {"object_a": ..., "object_b": ..., "relationship": "on the left of"}}`.
/// Relationships: "on the left of", "on the right of", "on the top of", "on the bottom of" (VBench's four).
public struct SpatialInfo: Codable, Sendable, Equatable {
    public struct Relation: Codable, Sendable, Equatable {
        public var objectA: String
        public var objectB: String
        public var relationship: String
        public init(objectA: String, objectB: String, relationship: String) {
            self.objectA = objectA
            self.objectB = objectB
            self.relationship = relationship
        }
        enum CodingKeys: String, CodingKey {
            case objectA = "object_a"
            case objectB = "object_b"
            case relationship
        }
    }
    public var spatialRelationship: Relation
    public init(_ relation: Relation) { self.spatialRelationship = relation }
    enum CodingKeys: String, CodingKey { case spatialRelationship = "spatial_relationship" }
}

/// `{"scene": "gradient sky"}`.
public struct SceneInfo: Codable, Sendable, Equatable {
    public var scene: String
    public init(scene: String) { self.scene = scene }
}

/// tdm-video's extension: the motions a prompt names.
/// camera_motion: "still", "pan left", "pan right", "tilt up", "tilt down", "zoom in", "zoom out".
/// object_motion: "still", "moving left", "moving right", "moving up", "moving down", "growing", "shrinking".
public struct TemporalStyleInfo: Codable, Sendable, Equatable {
    public var cameraMotion: String
    public var objectMotion: String
    public init(cameraMotion: String, objectMotion: String) {
        self.cameraMotion = cameraMotion
        self.objectMotion = objectMotion
    }
    enum CodingKeys: String, CodingKey {
        case cameraMotion = "camera_motion"
        case objectMotion = "object_motion"
    }
}

/// tdm-video's extension: everything the prompt states about the clip, for overall consistency.
public struct WorldFacts: Codable, Sendable, Equatable {
    public struct Object: Codable, Sendable, Equatable {
        /// One of VBench's nine colours: red, orange, yellow, green, blue, purple, pink, black, white.
        public var color: String
        /// One of the world's shapes: circle, square, triangle, diamond.
        public var shape: String
        /// As `TemporalStyleInfo.objectMotion`.
        public var motion: String
        /// The fill the prompt names ("solid", "striped", "checked"); nil (absent) when it names none.
        public var fill: String?
        public init(color: String, shape: String, motion: String, fill: String? = nil) {
            self.color = color
            self.shape = shape
            self.motion = motion
            self.fill = fill
        }
    }
    public var objects: [Object]
    /// As `SpatialInfo.Relation.relationship`, between objects[0] and objects[1]; nil for one object.
    public var relationship: String?
    public var cameraMotion: String
    /// Background description, e.g. "plain grey", "blue gradient", "soft green texture".
    public var background: String
    /// Which world the suite's clips come from (its reference clips are rendered in it); nil (absent, as
    /// in every suite written before the fine world) means coarse.
    public var detail: WorldDetail?

    public init(objects: [Object], relationship: String?, cameraMotion: String, background: String, detail: WorldDetail? = nil) {
        self.objects = objects
        self.relationship = relationship
        self.cameraMotion = cameraMotion
        self.background = background
        self.detail = detail
    }
    enum CodingKeys: String, CodingKey {
        case objects, relationship
        case cameraMotion = "camera_motion"
        case background, detail
    }
}

/// A prompt suite file: a JSON array of `PromptEntry`, VBench's `*_full_info.json` layout.
public enum PromptSuite {
    public static func load(_ url: URL) throws -> [PromptEntry] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SuiteError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
        }
        do { return try JSONDecoder().decode([PromptEntry].self, from: data) } catch {
            throw SuiteError(path: url.path, message: "not a VBench-style prompt list: \(error)")
        }
    }

    /// The world a suite's prompts come from: the `detail` of their world facts, coarse where absent;
    /// nil when the prompts disagree.
    public static func detail(_ entries: [PromptEntry]) -> WorldDetail? {
        let all = Set(entries.map { $0.worldDetail })
        return all.count <= 1 ? (all.first ?? .coarse) : nil
    }

    public static func encode(_ entries: [PromptEntry]) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(entries)
    }
}

public struct SuiteError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "prompt suite \(path): \(message)" }
}
