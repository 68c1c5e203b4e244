import Foundation
import TensorCore
import VideoCommon
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
    /// The embedded world the model was trained on (`world_detail`): `sample`, `score` and distillation
    /// render its reference clips in it. Absent (every package made before the fine world) means coarse.
    public var worldDetail: WorldDetail? = nil

    /// The world the model was trained on, coarse when the package does not say.
    public var world: WorldDetail { worldDetail ?? .coarse }

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
        case snrShiftScale = "snr_shift_scale", sampling, recipe, worldDetail = "world_detail"
    }

    public static let fileName = "tdm_video.json"
}

extension PackageMetadata {
    /// The documented ranges of `tdm_video.json` (docs/formats.md). Sizes are bounded so that no value
    /// reaches an allocation by itself; the memory the whole model needs is checked by `ModelPackage.load`.
    public static let maxFrames = 1024, maxSide = 4096, maxSteps = 1000, maxTextLength = 4096, maxEmbedDim = 16384

    /// Refuses values that cannot be right, naming the field and the allowed range: sizes ≤ 0 or too
    /// large, fps outside (0, 1000], timesteps outside [0, 999] or a grid that does not strictly decrease,
    /// step embeddings that are not finite. Never a silent fallback.
    public func validate(source: String) throws {
        func bad(_ field: String, _ m: String) -> ModelPackageError {
            ModelPackageError(path: source, message: "field \"\(field)\" \(m)")
        }
        guard formatVersion == 1 else { throw bad("format_version", "is \(formatVersion); allowed: 1") }
        guard (1...Self.maxFrames).contains(video.frames) else { throw bad("video.frames", "is \(video.frames); allowed: an integer in 1...\(Self.maxFrames)") }
        guard (1...Self.maxSide).contains(video.height) else { throw bad("video.height", "is \(video.height); allowed: an integer in 1...\(Self.maxSide)") }
        guard (1...Self.maxSide).contains(video.width) else { throw bad("video.width", "is \(video.width); allowed: an integer in 1...\(Self.maxSide)") }
        guard video.fps.isFinite, video.fps > 0, video.fps <= 1000 else { throw bad("video.fps", "is \(video.fps); allowed: a number in (0, 1000]") }
        guard (1...Self.maxEmbedDim).contains(textEncoder.embedDim) else {
            throw bad("text_encoder.embedDim", "is \(textEncoder.embedDim); allowed: an integer in 1...\(Self.maxEmbedDim)")
        }
        guard (1...Self.maxTextLength).contains(textEncoder.textLength) else {
            throw bad("text_encoder.textLength", "is \(textEncoder.textLength); allowed: an integer in 1...\(Self.maxTextLength)")
        }
        guard textEncoder.positionScale.isFinite, abs(textEncoder.positionScale) <= 1000 else {
            throw bad("text_encoder.positionScale", "is \(textEncoder.positionScale); allowed: a number in [-1000, 1000]")
        }
        guard !codecFile.isEmpty, !codecFile.contains("/"), codecFile != ".", codecFile != "..", !codecFile.contains("\0") else {
            throw bad("codec_file", "is \"\(codecFile)\"; allowed: a plain file name in the package folder")
        }
        guard snrShiftScale.isFinite, snrShiftScale > 0, snrShiftScale <= 1000 else {
            throw bad("snr_shift_scale", "is \(snrShiftScale); allowed: a number in (0, 1000]")
        }
        let s = sampling
        guard (1...Self.maxSteps).contains(s.steps) else { throw bad("sampling.steps", "is \(s.steps); allowed: an integer in 1...\(Self.maxSteps)") }
        guard s.guidance.isFinite, s.guidance >= 0, s.guidance <= 50 else {
            throw bad("sampling.guidance", "is \(s.guidance); allowed: a number in [0, 50] (1 disables guidance)")
        }
        if let grid = s.timesteps {
            guard (1...Self.maxSteps).contains(grid.count) else {
                throw bad("sampling.timesteps", "has \(grid.count) entries; allowed: 1...\(Self.maxSteps)")
            }
            for (i, t) in grid.enumerated() where !(0...999).contains(t) {
                throw bad("sampling.timesteps", "entry \(i) is \(t); allowed: timesteps in [0, 999]")
            }
            for i in grid.indices.dropFirst() where grid[i] >= grid[i - 1] {
                throw bad("sampling.timesteps", "is not strictly decreasing (entry \(i - 1) is \(grid[i - 1]), entry \(i) is \(grid[i]))")
            }
        }
        if let shift = s.timeShift, !(shift.isFinite && shift > 0 && shift <= 1000) {
            throw bad("sampling.time_shift", "is \(shift); allowed: a number in (0, 1000]")
        }
        if let table = s.stepEmbeddings {
            for (k, row) in table.sorted(by: { $0.key < $1.key }) {
                guard let n = Int(k), (1...Self.maxSteps).contains(n) else {
                    throw bad("sampling.step_embeddings", "has the key \"\(k)\"; allowed: step counts \"1\"...\"\(Self.maxSteps)\"")
                }
                guard row.allSatisfy(\.isFinite) else { throw bad("sampling.step_embeddings.\(k)", "holds NaN or infinite values") }
            }
        }
    }
}
