import Foundation
import TensorCore
import VideoModel

/// tdm-video's own file beside a diffusers model folder (`tdm_video.json`): what turns the bare
/// transformer into a text-to-video model. The transformer files stay exactly diffusers'.
/// What a package holds: a teacher (samples with CFG on its scheduler's spacing) or a TDM student
/// (samples its own grid without CFG).
public enum ModelKind: String, NamedChoice {
    case teacher, student
}

public struct PackageMetadata: Codable, Equatable, Sendable {
    public struct Video: Codable, Equatable, Sendable {
        public var frames: Int, height: Int, width: Int
        public var fps: Double
        public init(frames: Int, height: Int, width: Int, fps: Double) {
            self.frames = frames
            self.height = height
            self.width = width
            self.fps = fps
        }
    }
    public struct Sampling: Codable, Equatable, Sendable {
        public var scheduler: SchedulerKind
        public var steps: Int
        public var guidance: Double
        /// An explicit timestep grid (TDM students), overriding the scheduler's spacing.
        public var timesteps: [Int]?
        /// Unified TDM students: the step-count embedding added to the time embedding, per supported K
        /// ("1", "2", "4"), and the time shift of their grids.
        public var stepEmbeddings: [String: [Float]]? = nil
        public var timeShift: Double? = nil

        public init(scheduler: SchedulerKind, steps: Int, guidance: Double, timesteps: [Int]?,
                    stepEmbeddings: [String: [Float]]? = nil, timeShift: Double? = nil) {
            self.scheduler = scheduler
            self.steps = steps
            self.guidance = guidance
            self.timesteps = timesteps
            self.stepEmbeddings = stepEmbeddings
            self.timeShift = timeShift
        }

        enum CodingKeys: String, CodingKey {
            case scheduler, steps, guidance, timesteps, stepEmbeddings = "step_embeddings", timeShift = "time_shift"
        }
    }
    public var formatVersion = 1
    public var kind: ModelKind
    public var video: Video
    public var textEncoder: HashedTextEncoder
    public var codecFile = "codec.json"
    public var snrShiftScale: Double
    public var sampling: Sampling
    /// How the model was made: the config file's text and the command.
    public var recipe: [String: String] = [:]

    public init(kind: ModelKind, video: Video, textEncoder: HashedTextEncoder, snrShiftScale: Double,
                sampling: Sampling, recipe: [String: String] = [:]) {
        self.kind = kind
        self.video = video
        self.textEncoder = textEncoder
        self.snrShiftScale = snrShiftScale
        self.sampling = sampling
        self.recipe = recipe
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", kind, video, textEncoder = "text_encoder", codecFile = "codec_file"
        case snrShiftScale = "snr_shift_scale", sampling, recipe
    }

    public static let fileName = "tdm_video.json"
}
