import Foundation

/// CogVideoX's real text conditioning as a `TextEncoder`: `T5Tokenizer` then `T5EncoderModel`, the way
/// `CogVideoXPipeline._get_t5_prompt_embeds` does it (pad to `textLength` = max_sequence_length, 226 by
/// default; `</s>` then `<pad>`s; no attention mask, so padding tokens are encoded like any token).
public struct T5PromptEncoder: TextEncoder, @unchecked Sendable {
    public let tokenizer: T5Tokenizer
    public let encoder: T5EncoderModel
    public let textLength: Int
    public var embedDim: Int { encoder.config.dModel }

    /// Checks that every id the tokenizer can produce is a row of the encoder's embedding.
    public init(tokenizer: T5Tokenizer, encoder: T5EncoderModel, textLength: Int = T5Tokenizer.cogVideoXMaxLength) throws {
        guard textLength > 0 else { throw ModelError.badInput("T5 text length must be positive, got \(textLength)") }
        guard tokenizer.count <= encoder.config.vocabSize else {
            throw ModelError.badConfig(encoder.source, "the tokenizer has \(tokenizer.count) ids but vocab_size is \(encoder.config.vocabSize)")
        }
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.textLength = textLength
    }

    /// Loads `tokenizer/` and `text_encoder/` from a diffusers pipeline folder.
    public static func load(pipelineFolder: URL, textLength: Int = T5Tokenizer.cogVideoXMaxLength) throws -> T5PromptEncoder {
        try T5PromptEncoder(tokenizer: T5Tokenizer.load(directory: pipelineFolder.appendingPathComponent("tokenizer")),
                            encoder: T5EncoderModel.load(directory: pipelineFolder.appendingPathComponent("text_encoder")),
                            textLength: textLength)
    }

    /// The ids the prompt becomes (textLength of them).
    public func inputIds(_ prompt: String) -> [Int] { tokenizer.encode(prompt, maxLength: textLength).inputIds }

    /// [textLength · d_model] embeddings of one prompt.
    public func encode(_ prompt: String) -> [Float] {
        do {
            return try encoder.forward(inputIds: inputIds(prompt), batch: 1)
        } catch {
            // Unreachable: init checked that every tokenizer id is inside the vocabulary, and the batch is whole.
            preconditionFailure("T5PromptEncoder: \(error)")
        }
    }
}
