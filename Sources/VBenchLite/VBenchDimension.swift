/// The 16 VBench dimensions, in VBench's `TASK_INFO` order, with the normalisation constants of
/// VBench's `scripts/constant.py` (see docs/vbench.md §2.1).
///
/// The raw value of every dimension is reported on VBench's own raw scale so that these constants apply
/// unchanged; the mins and maxes are VBench's empirical bounds and are deliberately not clipped.
public enum VBenchDimension: String, CaseIterable, Codable, Sendable, Comparable {
    case subjectConsistency = "subject_consistency"
    case backgroundConsistency = "background_consistency"
    case temporalFlickering = "temporal_flickering"
    case motionSmoothness = "motion_smoothness"
    case dynamicDegree = "dynamic_degree"
    case aestheticQuality = "aesthetic_quality"
    case imagingQuality = "imaging_quality"
    case objectClass = "object_class"
    case multipleObjects = "multiple_objects"
    case humanAction = "human_action"
    case color = "color"
    case spatialRelationship = "spatial_relationship"
    case scene = "scene"
    case appearanceStyle = "appearance_style"
    case temporalStyle = "temporal_style"
    case overallConsistency = "overall_consistency"

    public enum Group: String, Codable, Sendable { case quality, semantic }

    /// VBench's QUALITY_LIST / SEMANTIC_LIST membership.
    public var group: Group {
        switch self {
        case .subjectConsistency, .backgroundConsistency, .temporalFlickering, .motionSmoothness,
             .dynamicDegree, .aestheticQuality, .imagingQuality:
            return .quality
        default:
            return .semantic
        }
    }

    /// VBench's NORMALIZE_DIC minimum.
    public var normMin: Double {
        switch self {
        case .subjectConsistency: return 0.1462
        case .backgroundConsistency: return 0.2615
        case .temporalFlickering: return 0.6293
        case .motionSmoothness: return 0.706
        case .appearanceStyle: return 0.0009
        default: return 0.0
        }
    }

    /// VBench's NORMALIZE_DIC maximum.
    public var normMax: Double {
        switch self {
        case .motionSmoothness: return 0.9975
        case .scene: return 0.8222
        case .appearanceStyle: return 0.2855
        case .temporalStyle, .overallConsistency: return 0.364
        default: return 1.0
        }
    }

    /// VBench's DIM_WEIGHT: dynamic degree counts half, every other dimension once.
    public var weight: Double { self == .dynamicDegree ? 0.5 : 1.0 }

    /// `(raw - min) / (max - min) * weight`, not clipped, as `scripts/cal_final_score.py` does.
    public func normalized(_ raw: Double) -> Double {
        (raw - normMin) / (normMax - normMin) * weight
    }

    public var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Self, b: Self) -> Bool { a.order < b.order }

    /// A readable label for tables.
    public var label: String { rawValue.replacingOccurrences(of: "_", with: " ") }
}

/// VBench's group weights: Total = (4·Quality + 1·Semantic) / 5.
public enum VBenchWeights {
    public static let quality = 4.0
    public static let semantic = 1.0
}
