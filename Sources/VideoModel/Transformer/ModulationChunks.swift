/// Where each modulation vector sits in the output of a norm's conditioning linear layer.
///
/// diffusers' `CogVideoXLayerNormZero` (norm1, norm2 of every block) computes
/// `linear(silu(temb))` of width 6·D and splits it with `.chunk(6, dim=1)` into
/// `shift, scale, gate, enc_shift, enc_scale, enc_gate`: the first three modulate the video rows, the
/// `enc_*` ones the text rows. The head's `AdaLayerNorm` (norm_out) has width 2·D, `shift, scale`, and
/// only sees video rows. Offsets are in units of D within one sample's row of `mod` [B, width·D].
struct ModulationChunks: Sendable {
    /// Chunks per sample (the linear layer's output is width·D).
    let width: Int
    /// Video-stream chunks.
    let shift: Int, scale: Int, gate: Int
    /// Text-stream chunks (`enc_*` in diffusers).
    let encShift: Int, encScale: Int, encGate: Int

    /// norm1 / norm2 of a block (`CogVideoXLayerNormZero`).
    static let block = ModulationChunks(width: 6, shift: 0, scale: 1, gate: 2, encShift: 3, encScale: 4, encGate: 5)
    /// norm_out (`AdaLayerNorm`, chunk_dim 1): no gate, no text rows (the text chunks alias the video ones).
    static let head = ModulationChunks(width: 2, shift: 0, scale: 1, gate: -1, encShift: 0, encScale: 1, encGate: -1)

    func shift(text: Bool) -> Int { text ? encShift : shift }
    func scale(text: Bool) -> Int { text ? encScale : scale }
    func gate(text: Bool) -> Int { text ? encGate : gate }
}
