import ArgumentParser
import AtomicFiles
import Foundation
import ShapeWorld
import TensorCore
import VBenchLite
import VideoCommon
import VideoModel

/// `tdm-video world codec`: how much of the world's detail a latent codec keeps. Fits the PCA codec as
/// `pretrain` does (training clips of the world, the same seed) at one or more channel counts, or reads
/// a codec.json, and measures the round trip encode → decode on the world's clips of a suite's prompts:
/// PSNR and the power above half the Nyquist frequency (`SpectralFidelity`).
struct WorldCodec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Fit the PCA latent codec at given channel counts (or read one) and measure its round trip on a suite.",
        discussion: """
        The fit is pretrain's: --fit-clips training clips of the world drawn with seed --seed (configs'
        train.seed) in --spatial-factor x --spatial-factor x --temporal-factor blocks. The round trip runs
        on the world's own clips of every prompt of --suite (--seeds seeds each, seeds 3,000,000 + i, which
        no evaluation uses). Reported: the variance the channels explain on the fitting clips, PSNR, the
        ratio of the spectral power above half the Nyquist frequency after / before, and the fidelity of
        that part of the spectrum, 1 - P(error) / P(original), with the worst clip's.

        --hf-weights fits each channel count also with the blocks' fine detail weighted (codec.hf_weight of
        a pretrain config): the kept directions trade variance (PSNR) for detail.

        Example:
          tdm-video world codec --channels 12,48,96 --suite configs/suites/heldout_full_info.json --seeds 16
          tdm-video world codec --codec models/teacher/codec.json --suite configs/suites/quick_full_info.json
          tdm-video world codec --channels 12,24,32,40 --suite configs/suites/heldout_fine_info.json --seeds 8
          tdm-video world codec --channels 32 --hf-weights 0,1,3 --suite configs/suites/heldout_fine_info.json
        """.paragraphs)

    @Option(help: "Channel counts to fit, comma-separated (ignored with --codec).")
    var channels: String = "12"

    @Option(help: "Weights of the blocks' fine detail in the fit, comma-separated; each channel count is fitted at each (0: plain PCA; pretrain's codec.hf_weight; ignored with --codec).")
    var hfWeights: String = "0"

    @Option(help: "Measure this codec.json instead of fitting.")
    var codec: String?

    @Option(help: "Write the codec fitted at the last channel count (and weight) here (a codec.json pretrain can start from).")
    var out: String?

    @Option(help: "A prompt suite (VBench *_full_info.json layout) whose prompts are in the world's grammar.")
    var suite: String = "configs/suites/heldout_full_info.json"

    @Option(help: "The world to fit on and measure: coarse or fine (default: the suite's, from its world facts).")
    var detail: WorldDetail?

    @Option(help: "World seeds per prompt for the round trip.")
    var seeds: Int = 16

    @Option(help: "Training clips the fit uses.") var fitClips: Int = 512
    @Option(help: "Seed of the fit's clips (pretrain uses train.seed).") var seed: UInt64 = 1
    @Option(help: "Pixels per latent position along height and width.") var spatialFactor: Int = 4
    @Option(help: "Frames per latent frame.") var temporalFactor: Int = 2
    @Option(help: "Clip width.") var width: Int = 32
    @Option(help: "Clip height.") var height: Int = 32
    @Option(help: "Clip frames.") var frames: Int = 16

    func validate() throws {
        guard (1...100).contains(seeds) else { throw ValidationError("--seeds must be in 1...100") }
        guard (1...4096).contains(fitClips) else { throw ValidationError("--fit-clips must be in 1...4096") }
        guard (8...256).contains(width), (8...256).contains(height), (1...256).contains(frames) else {
            throw ValidationError("--width and --height must be in 8...256 and --frames in 1...256")
        }
        guard (1...16).contains(spatialFactor), (1...16).contains(temporalFactor) else {
            throw ValidationError("--spatial-factor and --temporal-factor must be in 1...16")
        }
        _ = try channelList()
        _ = try weightList()
        // The fitting clips are held in memory as floats: refuse what would not fit comfortably.
        let bytes = Double(fitClips) * Double(frames * width * height * 3 * 4)
        guard bytes <= 4e9 else {
            throw ValidationError(String(format: "--fit-clips %d of %dx%dx%d clips would hold %.1f GB in memory; at most 4 GB", fitClips, frames, width, height, bytes / 1e9))
        }
    }

    func channelList() throws -> [Int] {
        let block = temporalFactor * spatialFactor * spatialFactor * 3
        let list = channels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil && (1...block).contains($0!) }) else {
            throw ValidationError("--channels must be integers in 1...\(block) (the block size), comma-separated; got \"\(channels)\"")
        }
        return list.map { $0! }
    }

    func weightList() throws -> [Double] {
        let list = hfWeights.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil && $0!.isFinite && (0...1000).contains($0!) }) else {
            throw ValidationError("--hf-weights must be numbers in 0...1000, comma-separated; got \"\(hfWeights)\"")
        }
        return list.map { $0! }
    }
    func run() throws {
        let entries: [PromptEntry]
        if let problem = InputFile.problem(at: suite) { throw CLIError("--suite \(suite): \(problem)") }
        do { entries = try PromptSuite.load(URL(fileURLWithPath: suite)) } catch {
            throw CLIError("--suite \(suite): \(error)")
        }
        var specs: [SceneSpec] = []
        for e in entries {
            do { specs.append(try Grammar.parse(e.promptEn)) } catch {
                throw CLIError("--suite \(suite): prompt \"\(e.promptEn)\" is outside the world's grammar")
            }
        }
        let clipBytes = Double(frames * width * height * 3 * 4)
        guard Double(specs.count * seeds) * clipBytes <= 4e9 else {
            throw CLIError(String(format: "--suite %@ with --seeds %d would hold %.1f GB of clips in memory; at most 4 GB", suite, seeds,
                                  Double(specs.count * seeds) * clipBytes / 1e9))
        }
        guard let chosen = detail ?? PromptSuite.detail(entries) else {
            throw CLIError("--suite \(suite): its prompts come from different worlds (world facts' detail); give --detail")
        }
        let world = WorldRenderer(width: width, height: height, frames: frames, detail: chosen)
        var truth: [[Float]] = []
        for s in specs { for i in 0..<seeds { truth.append(world.renderFloats(s, seed: 3_000_000 + UInt64(i))) } }

        var codecs: [(String, PCALatentCodec)] = []
        if let codec {
            let c: PCALatentCodec
            if let problem = InputFile.problem(at: codec) { throw CLIError("--codec \(codec): \(problem)") }
            do { c = try JSONDecoder().decode(PCALatentCodec.self, from: Data(contentsOf: URL(fileURLWithPath: codec))) } catch {
                throw CLIError("--codec \(codec): not a codec.json (\(DecodingErrorText.describe(error)))")
            }
            do { try c.validate() } catch { throw CLIError("--codec \(codec): \(error)") }
            codecs.append((codec, c))
        } else {
            var rng = RNG(seed: seed &+ 0xC0DEC)
            let source = WorldClipSource(renderer: world)
            let clips = (0..<fitClips).map { _ in source.sample(&rng).pixels }
            let weights = try weightList()
            for n in try channelList() { for w in weights {
                let c = try PCALatentCodec.fit(clips: clips, frames: frames, height: height, width: width, channels: n,
                                               spatialFactor: spatialFactor, temporalFactor: temporalFactor, hfWeight: w)
                codecs.append((w == 0 && weights.count == 1 ? "\(n) channels" : "\(n) ch, hf \(String(format: "%g", w))", c))
            } }
        }
        print("round trip on \(specs.count) prompts x \(seeds) seeds of \(suite), \(frames) frames of \(width)x\(height), \(chosen.rawValue) world")
        print("  codec            explained   PSNR dB  (worst)   HF power after/before   HF fidelity (worst)")
        for (name, c) in codecs {
            let back = try truth.map { try c.decode(c.encode($0, frames: frames, height: height, width: width),
                                                    frames: frames, height: height, width: width) }
            let m = SpectralFidelity.measure(original: truth, reconstructed: back, frames: frames, height: height, width: width)
            let label = name.count >= 16 ? name : name.padding(toLength: 16, withPad: " ", startingAt: 0)
            print("  " + label + String(format: " %8.4f  %8.2f  (%6.2f)   %20.3f   %8.3f (%6.3f)", c.explainedVariance,
                         m.psnr, m.worstPSNR, m.hfPowerRatio, m.hfFidelity, m.worstHFFidelity))
        }
        if let out, codec == nil, let last = codecs.last?.1 {
            try AtomicFile.write(try JSONEncoder().encode(last), to: URL(fileURLWithPath: out))
            print("wrote \(out) (\(last.latentChannels) channels)")
        }
    }
}
