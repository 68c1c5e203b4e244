import Foundation
import TensorCore

/// Applying a `LoRAAdapter` to a loaded `CogVideoXTransformer` without touching its weights, as peft's
/// `lora.Linear` runs while not merged: after every adapted Linear call the forward pass adds
/// y += scaling * scale * (x·Aᵀ)·Bᵀ (`LoRALowRank.addForward`), beside the untouched base weight and bias.
///
/// Against `LoRAFusion` it costs two extra small GEMMs per adapted Linear per forward (rank r: r·(in + out)
/// / (in·out) of that Linear's work, 6.7% for a 1920-wide attention projection at r = 64), and the
/// base weights stay bit for bit as loaded, so adapters and scales can be swapped between calls and
/// detaching restores the model exactly. Several adapters may be attached at once; their terms add up.
///
/// Only the inference forward (`forward`, `forwardGuided`) runs the adapters: `forwardTraining` and
/// `backward` throw while any is attached (fuse it, or detach it, to train). `copy()` and saving carry the
/// base weights only. Attaching or detaching while a forward runs on another thread affects the next one.
public enum LoRAUnfused {
    /// One attached adapter, for `detach`.
    public struct Attached: Sendable {
        public var adapter: LoRAAdapter
        public var scale: Float
        /// Tells apart two attachments of the same adapter to the same model.
        let id: Int
    }

    /// Attaches `adapter` at `scale` to `model` (validated first, as `LoRAFusion.fuse` does: nothing is
    /// attached if any target does not fit).
    @discardableResult
    public static func attach(_ adapter: LoRAAdapter, to model: CogVideoXTransformer, scale: Float = 1) throws -> Attached {
        guard scale.isFinite else { throw ModelError.badInput("LoRA scale must be finite, got \(scale)") }
        try adapter.validate(for: model)
        for t in adapter.targets where UnfusedLoRA.site(of: t.module) == nil {
            // validate() accepts every 2-D weight of the layout, and every one of them is a Linear the
            // forward pass hooks; this guards a layout that grows a Linear without its hook.
            throw ModelError.badWeights(adapter.source, "\"\(LoRAAdapter.prefix + t.module).lora_A.weight\": the forward pass has no unfused LoRA hook for \(t.module); fuse this LoRA instead")
        }
        return model.withUnfusedLoRA { $0.attach(adapter, scale: scale) }
    }

    /// Detaches an adapter attached by `attach`: the model computes as before it was attached, exactly.
    public static func detach(_ attached: Attached, from model: CogVideoXTransformer) throws {
        try model.withUnfusedLoRA { lora in
            guard lora.detach(attached) else {
                throw ModelError.badInput("the LoRA \(attached.adapter.source) at scale \(attached.scale) is not attached to this model")
            }
        }
    }

    /// Detaches every attached adapter.
    public static func detachAll(from model: CogVideoXTransformer) {
        model.withUnfusedLoRA { $0 = UnfusedLoRA() }
    }
}

/// The unfused form of a LoRA layer, peft's `lora.Linear.forward`: y = x·Wᵀ + b + scaling * scale *
/// (x·Aᵀ)·Bᵀ, the low-rank path computed beside the untouched base weight. The transformer's forward
/// calls it after each adapted Linear when adapters are attached (`LoRAUnfused`).
public enum LoRALowRank {
    /// y[m, out] += factor * (x[m, in] · Aᵀ) · Bᵀ, with factor = target.scaling * scale. `x` rows are `ldx`
    /// apart (default `in`), `y` rows `ldy` apart (default `out`). `scratch` holds the [m, rank] product;
    /// without it one is allocated per call.
    public static func addForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, m: Int,
                                  target t: LoRAAdapter.Target, scale: Float, ldx: Int? = nil, ldy: Int? = nil,
                                  scratch: UnsafeMutablePointer<Float>? = nil) {
        func run(_ h: UnsafeMutablePointer<Float>) {
            t.a.withUnsafeBufferPointer { a in
                sgemmParallelRows(transB: true, m: m, n: t.rank, k: t.inFeatures, a: x, lda: ldx ?? t.inFeatures,
                                  b: a.baseAddress!, ldb: t.inFeatures, c: h, ldc: t.rank)
            }
            t.b.withUnsafeBufferPointer { b in
                sgemmParallelRows(transB: true, m: m, n: t.outFeatures, k: t.rank, alpha: t.scaling * scale,
                                  a: h, lda: t.rank, b: b.baseAddress!, ldb: t.rank, beta: 1,
                                  c: y, ldc: ldy ?? t.outFeatures)
            }
        }
        if let scratch { return run(scratch) }
        var hidden = [Float](repeating: 0, count: m * t.rank)
        hidden.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
    }
}

/// The adapters attached to one model, with their targets sorted by the Linear call they follow, so
/// that the forward pass finds a call's terms by index: no name look-up and no allocation per call.
struct UnfusedLoRA: Sendable {
    struct Term: Sendable {
        var target: LoRAAdapter.Target
        var scale: Float
    }

    /// The Linear calls outside the blocks, and in every block, that a LoRA may adapt (every 2-D weight
    /// of `ParameterLayout`; patch_embed.proj is a convolution).
    enum ModelSite: Int, CaseIterable { case timeLinear1, timeLinear2, textProj, normOutLinear, projOut }
    enum BlockSite: Int, CaseIterable { case norm1Linear, toQ, toK, toV, toOut, norm2Linear, ff0, ff2 }

    static let modelModules: [String: ModelSite] = [
        "time_embedding.linear_1": .timeLinear1, "time_embedding.linear_2": .timeLinear2,
        "patch_embed.text_proj": .textProj, "norm_out.linear": .normOutLinear, "proj_out": .projOut,
    ]
    static let blockModules: [String: BlockSite] = [
        "norm1.linear": .norm1Linear, "attn1.to_q": .toQ, "attn1.to_k": .toK, "attn1.to_v": .toV,
        "attn1.to_out.0": .toOut, "norm2.linear": .norm2Linear, "ff.net.0.proj": .ff0, "ff.net.2": .ff2,
    ]

    enum Site: Equatable { case model(ModelSite), block(Int, BlockSite) }

    /// Where a diffusers module name is called in the forward pass.
    static func site(of module: String) -> Site? {
        if let s = modelModules[module] { return .model(s) }
        let prefix = "transformer_blocks."
        guard module.hasPrefix(prefix) else { return nil }
        let rest = module.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]), i >= 0,
              let s = blockModules[String(rest[rest.index(after: dot)...])] else { return nil }
        return .block(i, s)
    }

    private(set) var attached: [LoRAUnfused.Attached] = []
    private(set) var modelTerms: [[Term]] = []
    private(set) var blockTerms: [[[Term]]] = []
    /// The largest rank attached: the scratch one forward needs is rows x maxRank.
    private(set) var maxRank = 0
    private var nextID = 0

    var isEmpty: Bool { attached.isEmpty }

    mutating func attach(_ adapter: LoRAAdapter, scale: Float) -> LoRAUnfused.Attached {
        let a = LoRAUnfused.Attached(adapter: adapter, scale: scale, id: nextID)
        nextID += 1
        attached.append(a)
        rebuild()
        return a
    }

    /// False when `a` is not attached.
    mutating func detach(_ a: LoRAUnfused.Attached) -> Bool {
        guard let i = attached.firstIndex(where: { $0.id == a.id }) else { return false }
        attached.remove(at: i)
        rebuild()
        return true
    }

    private mutating func rebuild() {
        modelTerms = Array(repeating: [], count: ModelSite.allCases.count)
        blockTerms = []
        maxRank = 0
        for a in attached {
            for t in a.adapter.targets {
                maxRank = max(maxRank, t.rank)
                switch Self.site(of: t.module)! {
                case .model(let s):
                    modelTerms[s.rawValue].append(Term(target: t, scale: a.scale))
                case .block(let i, let s):
                    while blockTerms.count <= i {
                        blockTerms.append(Array(repeating: [], count: BlockSite.allCases.count))
                    }
                    blockTerms[i][s.rawValue].append(Term(target: t, scale: a.scale))
                }
            }
        }
    }

    /// The adapters of one forward pass with the scratch of its cache.
    struct Pass {
        let lora: UnfusedLoRA
        let scratch: UnsafeMutablePointer<Float>

        func add(_ terms: [Term], y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, m: Int, ldx: Int?, ldy: Int?) {
            for t in terms {
                LoRALowRank.addForward(y: y, x: x, m: m, target: t.target, scale: t.scale, ldx: ldx, ldy: ldy,
                                       scratch: scratch)
            }
        }

        /// After the Linear call `site`: y[m, out] += the terms' low-rank products of x[m, in].
        func add(_ site: ModelSite, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, m: Int) {
            add(lora.modelTerms[site.rawValue], y: y, x: x, m: m, ldx: nil, ldy: nil)
        }

        func add(block i: Int, _ site: BlockSite, y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, m: Int,
                 ldx: Int? = nil, ldy: Int? = nil) {
            guard i < lora.blockTerms.count else { return }
            add(lora.blockTerms[i][site.rawValue], y: y, x: x, m: m, ldx: ldx, ldy: ldy)
        }
    }
}
