import Foundation
import TensorCore

/// Compares `CogVideoXVAE` with diffusers' `AutoencoderKLCogVideoX` on the golden tensors of
/// `cogvideox-vae-tiny/reference.safetensors`: `decode` (one and two frame batches), `encode` (mean and
/// logvar, one and two frame batches), the tiled decode with the tiling in the file's metadata, and the block
/// activations `act.*` where present. Every tensor within `ReferenceCheck.outputTolerance` relative to its
/// largest magnitude. Each comparison runs only when its input is in the file. For `tdm-video verify`.
public enum VAEReferenceCheck {
    public static func run(vae: CogVideoXVAE, reference: SafeTensorsFile, source: String) throws -> [ReferenceCheck.Line] {
        let tolerance = ReferenceCheck.outputTolerance
        var lines: [ReferenceCheck.Line] = []
        func input(_ key: String) throws -> Tensor? {
            guard let t = reference[key] else { return nil }
            return try Tensor(shape: t.shape, data: t.floats())
        }
        func add(_ name: String, _ ours: [Float]) {
            guard let ref = reference[name] else { return }
            let r = ref.floats()
            guard r.count == ours.count else {
                lines.append(.init(name: name + " (size \(ours.count) vs \(r.count))", maxAbsErr: .infinity, relErr: .infinity, tolerance: tolerance))
                return
            }
            let c = compareTensors(ours, r)
            lines.append(.init(name: name, maxAbsErr: c.maxAbs, relErr: c.relErr, tolerance: tolerance))
        }
        if let z = try input("decode.latents") {
            var acts: [String: Tensor] = [:]
            add("decode.output", try vae.decode(z) { name, t in acts[name] = t }.data)
            for k in acts.keys.sorted() { add("act.\(k)", acts[k]!.data) }
        }
        if let z = try input("decode_long.latents") { add("decode_long.output", try vae.decode(z).data) }
        for prefix in ["encode", "encode_long"] {
            if let x = try input("\(prefix).video") {
                var acts: [String: Tensor] = [:]
                let (mean, logvar) = try vae.encode(x) { name, t in acts[name] = t }
                add("\(prefix).mean", mean.data)
                add("\(prefix).logvar", logvar.data)
                if prefix == "encode" { for k in acts.keys.sorted() { add("act.\(k)", acts[k]!.data) } }
            }
        }
        if let z = try input("decode_tiled.latents") {
            let m = reference.metadata
            guard let h = m["tiling.tile_sample_min_height"].flatMap({ Int($0) }), let w = m["tiling.tile_sample_min_width"].flatMap({ Int($0) }),
                  let oh = m["tiling.tile_overlap_factor_height"].flatMap({ Double($0) }),
                  let ow = m["tiling.tile_overlap_factor_width"].flatMap({ Double($0) }) else {
                throw ModelError.badInput("reference \(source): decode_tiled needs tiling.tile_sample_min_{height,width} and tiling.tile_overlap_factor_{height,width} in the metadata")
            }
            let tiling = VAETiling(tileSampleMinHeight: h, tileSampleMinWidth: w, overlapFactorHeight: oh, overlapFactorWidth: ow)
            add("decode_tiled.output", try vae.tiledDecode(z, tiling: tiling).data)
        }
        guard !lines.isEmpty else {
            throw ModelError.badInput("reference \(source) holds none of decode.latents, decode_long.latents, encode.video, encode_long.video, decode_tiled.latents")
        }
        return lines
    }
}
