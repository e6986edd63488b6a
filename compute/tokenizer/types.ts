export interface Tokenizer {
  readonly vocabSize: number;
  /** id prepended as beginning-of-sequence (llama2.c: 1; GPT-2: <|endoftext|>) */
  readonly bosId: number;
  readonly eosId: number;
  /**
   * text → ids; `bos` prepends bosId. `dummyPrefix: false` encodes the text as it is, without the space a
   * SentencePiece tokenizer (llama2.c's) puts before it, so a word can be encoded as the inside of a longer one;
   * tokenizers that add no such space ignore it.
   */
  encode(text: string, options?: { bos?: boolean; dummyPrefix?: boolean }): number[];
  /** ids → text, as the model's reference implementation decodes */
  decode(ids: number[]): string;
  /** the display string of one token (raw bytes shown as <0xXX>) */
  piece(id: number): string;
}
