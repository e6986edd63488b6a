import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors';
import type { Tokenizer } from './types';

const BOS = 1;
const EOS = 2;
/** llama2.c's byte fallback: the token for raw byte b is b + 3 (after <unk>, <s>, </s>). */
const BYTE_OFFSET = 3;
/** run.c starts its merge search below this score, so pieces scoring lower never merge. */
const MIN_MERGE_SCORE = -1e10;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** A llama2.c model directory's tokenizer file: `tokenizer.bin` or `tok*.bin` (any other `.bin` is the checkpoint). */
export const isLlama2cTokenizerFile = (name: string) => name === 'tokenizer.bin' || /^tok.*\.bin$/.test(name);

/**
 * The llama2.c tokenizer (`tok512.bin`, `tokenizer.bin`): a sentencepiece vocabulary with merge scores,
 * encoded and decoded exactly as llama2.c's run.c does.
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = BOS;
  readonly eosId = EOS;
  readonly vocabSize: number;
  /** piece bytes as a latin1 string (one char per byte), so string concatenation is byte concatenation */
  private readonly pieces: string[];
  private readonly idOf = new Map<string, number>();
  /** what each token contributes to decoded text: its piece, or the single raw byte of a <0xXX> piece */
  private readonly decodedBytes: Uint8Array[];

  constructor(
    pieces: Uint8Array[],
    private readonly scores: Float32Array,
    readonly maxTokenLength: number,
  ) {
    this.vocabSize = pieces.length;
    this.pieces = pieces.map((bytes) => Buffer.from(bytes).toString('latin1'));
    // run.c finds pieces by binary search; on duplicates keep the first id
    this.pieces.forEach((piece, id) => this.idOf.has(piece) || this.idOf.set(piece, id));
    this.decodedBytes = this.pieces.map((piece, id) => {
      const byte = BYTE_PIECE.exec(piece);
      return byte ? Uint8Array.of(parseInt(byte[1], 16)) : pieces[id];
    });
  }

  encode(text: string, options: { bos?: boolean; dummyPrefix?: boolean } = {}): number[] {
    // sentencepiece's dummy prefix: non-empty text is encoded as if it began with a space
    const prefix = options.dummyPrefix === false ? '' : ' ';
    const tokens = text === '' ? [] : this.mergePairs(this.encodeCharacters(Buffer.from(prefix + text, 'utf8')));
    return options.bos ? [BOS, ...tokens] : tokens;
  }

  /** One token per UTF-8 character, or one per byte for characters missing from the vocabulary. */
  private encodeCharacters(bytes: Buffer): number[] {
    const tokens: number[] = [];
    const isContinuation = (b: number) => (b & 0xc0) === 0x80;
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      // like run.c: a character is a lead byte plus up to 3 continuation bytes
      if (i + 1 < bytes.length && isContinuation(bytes[i + 1]) && i + 1 - start < 4) continue;
      const char = bytes.subarray(start, i + 1);
      const id = this.idOf.get(char.toString('latin1'));
      if (id !== undefined) tokens.push(id);
      else for (const b of char) tokens.push(b + BYTE_OFFSET);
      start = i + 1;
    }
    return tokens;
  }

  /**
   * Repeatedly merges the adjacent pair whose concatenation is the best-scoring piece, the leftmost on
   * ties: run.c's rule. run.c rescans every pair after each merge, which is quadratic in the text length;
   * here the candidate pairs wait in a priority queue and entries made stale by a merge are skipped.
   */
  private mergePairs(initial: number[]): number[] {
    // a linked list over the initial positions; a merge keeps the left node and unlinks the right one
    const token = [...initial];
    const next = initial.map((_, i) => i + 1);
    const prev = initial.map((_, i) => i - 1);
    const alive = initial.map(() => true);
    const end = initial.length;
    const queue = new Heap<Candidate>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
    const consider = (left: number) => {
      const right = next[left];
      if (left < 0 || right >= end) return;
      const id = this.idOf.get(this.pieces[token[left]] + this.pieces[token[right]]);
      if (id === undefined || !(this.scores[id] > MIN_MERGE_SCORE)) return;
      queue.push({ score: this.scores[id], id, left, right, leftToken: token[left], rightToken: token[right] });
    };
    for (let i = 0; i < end; i++) consider(i);
    for (let pair = queue.pop(); pair; pair = queue.pop()) {
      const { left, right } = pair;
      // tokens only grow by merging, so two live neighbours with unchanged ids are still this pair
      const current = alive[left] && alive[right] && next[left] === right &&
        token[left] === pair.leftToken && token[right] === pair.rightToken;
      if (!current) continue;
      token[left] = pair.id;
      alive[right] = false;
      next[left] = next[right];
      if (next[right] < end) prev[next[right]] = left;
      consider(prev[left]);
      consider(left);
    }
    return token.filter((_, i) => alive[i]);
  }

  /**
   * Decodes as run.c prints: the piece right after BOS loses its leading space, <0xXX> pieces are raw
   * bytes (so byte tokens of one multi-byte character join up), and the control tokens BOS/EOS print nothing.
   */
  decode(ids: number[]): string {
    const parts: Uint8Array[] = [];
    ids.forEach((id, i) => {
      this.checkId(id);
      if (id === BOS || id === EOS) return;
      const bytes = this.decodedBytes[id];
      parts.push(i > 0 && ids[i - 1] === BOS && this.pieces[id][0] === ' ' ? bytes.subarray(1) : bytes);
    });
    return Buffer.concat(parts).toString('utf8');
  }

  piece(id: number): string {
    this.checkId(id);
    return Buffer.from(this.pieces[id], 'latin1').toString('utf8');
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InputError(`token id ${id} is out of range: the vocabulary has ids 0..${this.vocabSize - 1}`);
    }
  }
}

/** A possible merge of the adjacent tokens at positions `left` and `right` into token `id`. */
interface Candidate {
  score: number;
  id: number;
  left: number;
  right: number;
  leftToken: number;
  rightToken: number;
}

/** A binary heap: `pop` returns the item that comes first under `before`. */
class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  push(item: T): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const first = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0; ; ) {
        let best = i;
        for (const child of [2 * i + 1, 2 * i + 2]) {
          if (child < items.length && this.before(items[child], items[best])) best = child;
        }
        if (best === i) break;
        [items[i], items[best]] = [items[best], items[i]];
        i = best;
      }
    }
    return first;
  }
}

/**
 * Parses a llama2.c tokenizer file: int32 max_token_length, then per token a float32 score,
 * an int32 byte length and the piece's bytes, up to the end of the file.
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, file: string): Llama2cTokenizer {
  const name = path.basename(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (problem: string) =>
    new InputError(`${name} is not a valid llama2.c tokenizer file: ${problem}`);
  if (bytes.byteLength < 4) throw fail(`it is ${bytes.byteLength} bytes long, too short for a header`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength < 1 || maxTokenLength > 1024) {
    throw fail(`max_token_length is ${maxTokenLength}, expected 1..1024`);
  }
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let offset = 4;
  while (offset < bytes.byteLength) {
    const id = pieces.length;
    if (offset + 8 > bytes.byteLength) throw fail(`token ${id} is truncated at byte ${offset}`);
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    if (!Number.isFinite(score)) throw fail(`token ${id} has score ${score}`);
    if (length < 1 || length > maxTokenLength) {
      throw fail(`token ${id} has length ${length}, expected 1..${maxTokenLength} (max_token_length)`);
    }
    if (offset + 8 + length > bytes.byteLength) throw fail(`token ${id} is truncated at byte ${offset}`);
    pieces.push(bytes.slice(offset + 8, offset + 8 + length));
    scores.push(score);
    offset += 8 + length;
  }
  if (pieces.length <= EOS) throw fail(`it has ${pieces.length} tokens; BOS (1) and EOS (2) are required`);
  return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength);
}

export async function loadLlama2cTokenizer(file: string): Promise<Llama2cTokenizer> {
  return parseLlama2cTokenizer(await readFile(file), file);
}
