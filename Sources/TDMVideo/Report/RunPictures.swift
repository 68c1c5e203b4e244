import AtomicFiles
import Foundation
import ShapeWorld
import TensorCore
import VideoCommon
import VideoInference
import VideoIO
import VideoModel

/// The pictures a run leaves beside its model: loss curves as SVG and a contact sheet of clips, so a
/// reader sees how training went and what the model makes without running anything.
public enum RunPictures {
    /// Writes `loss_curves.svg` (and `eval_curve.svg` when the run evaluated the student periodically)
    /// from a distillation log. Returns the files written.
    @discardableResult
    public static func writeDistillCurves(log: URL, to dir: URL) throws -> [URL] {
        let svgs = LossCurves.distillSVGs(log: log)
        var written: [URL] = []
        let losses = dir.appendingPathComponent("loss_curves.svg")
        try AtomicFile.write(Data(svgs.losses.utf8), to: losses)
        written.append(losses)
        if let e = svgs.eval {
            let u = dir.appendingPathComponent("eval_curve.svg")
            try AtomicFile.write(Data(e.utf8), to: u)
            written.append(u)
        }
        return written
    }

    /// Writes `loss_curve.svg` from a pretraining log.
    @discardableResult
    public static func writePretrainCurve(log: URL, to dir: URL) throws -> URL {
        let svg = LossCurves.chart(log: log, keys: ["loss"], title: "Teacher pretraining loss (v-prediction)").svg()
        let u = dir.appendingPathComponent("loss_curve.svg")
        try AtomicFile.write(Data(svg.utf8), to: u)
        return u
    }

    /// One row of a contact sheet: a model at its default sampling, or at `steps` steps (the teacher
    /// at the student's step count shows what distillation wins back).
    public struct SheetRow {
        public var label: String
        public var package: ModelPackage
        public var steps: Int?
        public init(_ label: String, _ package: ModelPackage, steps: Int? = nil) {
            self.label = label
            self.package = package
            self.steps = steps
        }
    }

    /// Renders each prompt with each row's model (seed = the prompt's index) and writes a contact sheet:
    /// one row per prompt and model, labelled with its network evaluations, the world's ground truth
    /// first when asked.
    public static func writeContactSheet(models: [SheetRow], prompts: [String],
                                         groundTruth: Bool, to url: URL, columns: Int = 8) throws {
        let (clips, labels) = try contactSheetClips(models: models, prompts: prompts, groundTruth: groundTruth)
        guard !clips.isEmpty else { return }
        try ContactSheet.writePNG(clips: clips, columns: columns, labels: labels.map { $0.uppercased() }, gap: 2, to: url)
    }

    /// The clips and labels of `writeContactSheet`, in sheet order.
    static func contactSheetClips(models: [SheetRow], prompts: [String], groundTruth: Bool) throws -> (clips: [RGBVideo], labels: [String]) {
        guard let first = models.first else { return ([], []) }
        let v = first.package.metadata.video
        let world = WorldRenderer(width: v.width, height: v.height, frames: v.frames, fps: v.fps, detail: first.package.metadata.world)
        var clips: [RGBVideo] = [], labels: [String] = []
        for (i, p) in prompts.enumerated() {
            if groundTruth, let truth = try? world.render(prompt: p, seed: UInt64(i)) {
                clips.append(truth)
                labels.append("TRUTH: \(p)")
            }
            for m in models {
                let pipe = VideoPipeline(m.package)
                let options = m.steps.map { pipe.options(steps: $0) } ?? pipe.defaults
                let px = try pipe.render(prompt: p, seed: UInt64(i), options: options)
                let mv = m.package.metadata.video
                clips.append(RGBVideo(floats: px, width: mv.width, height: mv.height, fps: mv.fps))
                labels.append("\(m.label) (\(pipe.nfe(options)) NFE)")
            }
        }
        return (clips, labels)
    }
}
