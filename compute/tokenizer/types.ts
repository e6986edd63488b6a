export interface Tokenizer {
  readonly vocabSize: number;
  /** id prepended as beginning-of-sequence (llama2.c: 1; GPT-2: <|endoftext|>) */
  readonly bosId: number;
  readonly eosId: number;
  /** text → ids; `bos` prepends bosId */
  encode(text: string, options?: { bos?: boolean }): number[];
  /** ids → text, as the model's reference implementation decodes */
  decode(ids: number[]): string;
  /** the display string of one token (raw bytes shown as <0xXX>) */
  piece(id: number): string;
}
