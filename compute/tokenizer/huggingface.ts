import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { InputError } from '../errors';
import { readJsonObject, type JsonObject } from '../json-file';
import { displayBytes } from './gpt2';
import type { Tokenizer } from './types';

/** Special-token ids as a model's config.json states them (they win over tokenizer_config.json). */
export interface SpecialTokenIds {
  bos_token_id?: unknown;
  eos_token_id?: unknown;
}

/**
 * A tokenizer shipped with a Hugging Face model as `tokenizer.json` (+ optional `tokenizer_config.json`),
 * run by @huggingface/tokenizers (BPE, WordPiece, Unigram; byte-level and sentencepiece-style pipelines).
 * BOS is added by `encode({ bos: true })` only, never by the tokenizer's own post-processor.
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly hf: HfTokenizer;
  /** whether tokens are spelled in GPT-2's byte-level alphabet (added tokens excepted) */
  private readonly byteLevel: boolean;
  private readonly addedIds: Set<number>;

  constructor(tokenizerJson: JsonObject, tokenizerConfig: JsonObject, modelConfig: SpecialTokenIds, source: string) {
    this.hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
    // ids may have gaps; a spread of a 100k+ vocabulary would overflow Math.max's argument list
    this.vocabSize = [...this.hf.get_vocab(true).values()].reduce((max, id) => Math.max(max, id), -1) + 1;
    const special = (idKey: keyof SpecialTokenIds, tokenKey: string) =>
      typeof modelConfig[idKey] === 'number' ? (modelConfig[idKey] as number) : this.idOfToken(tokenConfigContent(tokenizerConfig[tokenKey]));
    const eos = special('eos_token_id', 'eos_token');
    // GPT-2-style tokenizers have one <|endoftext|> that serves as both
    const bos = special('bos_token_id', 'bos_token') ?? eos;
    if (bos === undefined || eos === undefined) {
      throw new InputError(`${source}: cannot tell the BOS/EOS tokens (no bos_token_id/eos_token_id in config.json, no bos_token/eos_token in tokenizer_config.json)`);
    }
    [this.bosId, this.eosId] = [bos, eos];
    this.byteLevel = hasComponent(tokenizerJson.decoder, 'ByteLevel');
    this.addedIds = new Set(this.hf.get_added_tokens_decoder().keys());
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const { ids } = this.hf.encode(text, { add_special_tokens: false });
    return options.bos ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[]): string {
    ids.forEach((id) => this.checkId(id));
    return this.hf.decode(ids);
  }

  piece(id: number): string {
    this.checkId(id);
    const token = this.hf.id_to_token(id) ?? '';
    if (this.byteLevel && !this.addedIds.has(id)) {
      return displayBytes(Uint8Array.from(token, (char) => BYTE_OF_CHAR.get(char) ?? 0x3f));
    }
    // sentencepiece marks spaces with U+2581; byte-fallback pieces (<0xXX>) are already in display form
    return token.replaceAll('\u2581', ' ');
  }

  private idOfToken(token: string | undefined): number | undefined {
    return token === undefined ? undefined : this.hf.token_to_id(token);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.hf.id_to_token(id) === undefined) {
      throw new InputError(`token id ${id} is not in the tokenizer's vocabulary (ids 0..${this.vocabSize - 1})`);
    }
  }
}

/**
 * Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a model directory;
 * undefined when the directory has no tokenizer.json.
 */
export async function loadHuggingFaceTokenizer(dir: string, modelConfig: SpecialTokenIds = {}): Promise<HuggingFaceTokenizer | undefined> {
  const file = path.join(dir, 'tokenizer.json');
  const tokenizerJson = await readJsonObject(file);
  if (!tokenizerJson) return undefined;
  const tokenizerConfig = (await readJsonObject(path.join(dir, 'tokenizer_config.json'))) ?? {};
  try {
    return new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig, modelConfig, file);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: unsupported or malformed tokenizer (${(err as Error).message})`);
  }
}

/** A JSON object from `file`, or undefined when the file does not exist. */
/** tokenizer_config.json writes special tokens as a string or as an AddedToken object `{content, ...}`. */
function tokenConfigContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as JsonObject).content === 'string') return (value as JsonObject).content as string;
  return undefined;
}

/** Whether a tokenizer.json component (possibly a `Sequence` of them) is or contains one of `type`. */
function hasComponent(component: unknown, type: string): boolean {
  if (!component || typeof component !== 'object') return false;
  const { type: own, decoders } = component as JsonObject;
  return own === type || (Array.isArray(decoders) && decoders.some((d) => hasComponent(d, type)));
}

/**
 * GPT-2's byte-level alphabet maps every byte to a printable character (bytes_to_unicode in the original
 * encoder.py): printable Latin-1 bytes stand for themselves, the rest are shifted to U+0100 onwards.
 */
const BYTE_OF_CHAR: Map<string, number> = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCodePoint(printable(b) ? b : 256 + shifted++), b);
  return map;
})();
