/**
 * An import's example activations packed into typed arrays: what the parsing threads hand the importing one
 * (./activation-threads.ts; the arrays are transferred, not copied) and what an ImportRun stores
 * (./neuronpedia-store.ts). Each activation is checked as it is added, so a bad one is refused naming its file and
 * line wherever it was parsed, and its token strings become the model's token ids there too.
 */
import { InputError } from '@/compute/errors';
import { where, type At } from './neuronpedia-files';

/** One example context: a top example (binMin −1 or absent) or one of a quantile interval's. */
export interface ImportedActivation {
  index: number;
  tokens: string[];
  values: number[];
  maxValue: number | null;
  maxValueTokenIndex: number | null;
  binMin: number | null;
  binMax: number | null;
  /** the fraction of the feature's non-zero activations that lie in the interval */
  binContains: number | null;
  /** the token an interval example was drawn for */
  qualifyingTokenIndex: number | null;
  /** the example's loss change (empty: none) */
  lossValues: number[];
}

/** An activation's fields but its lists. */
export type ActivationScalars = Omit<ImportedActivation, 'tokens' | 'values' | 'lossValues'>;

/** Activations of one file, in its order; activation i's tokens are tokens[tokenStart[i]..tokenStart[i+1]). */
export interface ActivationBatch {
  file: string;
  /** each activation's line number, or its place in a whole-file document */
  lines: (number | string)[];
  count: number;
  index: Int32Array;
  /** 1: an interval example (binMin given and not −1), 0: a top example */
  isInterval: Uint8Array;
  /** NaN where the source gives none */
  binMin: Float64Array;
  binMax: Float64Array;
  binContains: Float64Array;
  /** what the top examples are ranked by: maxValue, else the largest value */
  rankKey: Float64Array;
  /** the stored maximum: maxValue, else the value at maxPos as a float32 */
  maxAct: Float64Array;
  maxPos: Int32Array;
  /** an interval example's drawn token (qualifyingTokenIndex, else maxPos) */
  position: Int32Array;
  tokenStart: Int32Array;
  /** the model's token ids; −1−k: unknown[k], a string that is no piece of the vocabulary */
  tokens: Int32Array;
  acts: Float32Array;
  lossStart: Int32Array;
  loss: Float32Array;
  unknown: string[];
}

/** The buffers to transfer when posting a batch to another thread. */
export function batchBuffers(b: ActivationBatch): ArrayBuffer[] {
  const arrays = [b.index, b.isInterval, b.binMin, b.binMax, b.binContains, b.rankKey, b.maxAct, b.maxPos, b.position, b.tokenStart, b.tokens, b.acts, b.lossStart, b.loss];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** piece → token id, the first id of a piece the vocabulary spells twice. */
export function pieceIdsOf(pieces: string[]): Map<string, number> {
  const ids = new Map<string, number>();
  pieces.forEach((piece, id) => {
    if (!ids.has(piece)) ids.set(piece, id);
  });
  return ids;
}

export function checkFeatureIndex(index: number, dSae: number, at: At): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= dSae) {
    throw new InputError(`${where(at)}: feature index ${index} is out of range: the SAE has ${dSae} features (0–${dSae - 1})`);
  }
}

/** A typed array that grows as values are appended. */
class Growing<T extends Int32Array | Float32Array> {
  length = 0;
  constructor(private array: T) {}

  push(values: ArrayLike<number>): void {
    if (this.length + values.length > this.array.length) {
      const grown = new (this.array.constructor as new (n: number) => T)(Math.max(this.array.length * 2, this.length + values.length));
      grown.set(this.array.subarray(0, this.length));
      this.array = grown;
    }
    this.array.set(values, this.length);
    this.length += values.length;
  }

  /** the values so far, in an array of their own */
  take(): T {
    return this.array.slice(0, this.length) as T;
  }
}

/** Gathers checked activations of one file into batches. */
export class ActivationBatcher {
  private lines: (number | string)[] = [];
  private scalars: { index: number; isInterval: number; binMin: number; binMax: number; binContains: number; rankKey: number; maxAct: number; maxPos: number; position: number }[] = [];
  private tokenStart = [0];
  private lossStart = [0];
  private tokens = new Growing(new Int32Array(1 << 12));
  private acts = new Growing(new Float32Array(1 << 12));
  private loss = new Growing(new Float32Array(0));
  private unknown = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly pieceIds: Map<string, number>,
    private readonly dSae: number,
  ) {}

  get size(): number {
    return this.lines.length;
  }

  add(a: ImportedActivation, at: At): void {
    const { tokens, values, lossValues, ...scalars } = a;
    this.addIds(scalars, tokens.map((piece) => this.tokenId(piece)), values, lossValues, at);
  }

  /** Adds an activation whose tokens are already ids (./activation-scan.ts reads them so). */
  addIds(a: ActivationScalars, tokens: ArrayLike<number>, acts: ArrayLike<number>, lossValues: ArrayLike<number>, at: At): void {
    checkFeatureIndex(a.index, this.dSae, at);
    if (tokens.length !== acts.length) {
      throw new InputError(`${where(at)}: feature ${a.index}'s activation has ${tokens.length} tokens but ${acts.length} values`);
    }
    if (tokens.length === 0) throw new InputError(`${where(at)}: feature ${a.index}'s activation has no tokens`);
    let maxPos = a.maxValueTokenIndex ?? 0;
    // compared as the float32s they are stored as
    if (a.maxValueTokenIndex === null) for (let i = 1; i < acts.length; i++) if (Math.fround(acts[i]!) > Math.fround(acts[maxPos]!)) maxPos = i;
    if (!Number.isInteger(maxPos) || maxPos < 0 || maxPos >= acts.length) {
      throw new InputError(`${where(at)}: maxValueTokenIndex ${maxPos} is not a place among its ${acts.length} tokens`);
    }
    const isInterval = a.binMin !== null && a.binMin !== -1;
    const position = a.qualifyingTokenIndex ?? maxPos;
    // binary COPY writes whole numbers only
    if (isInterval && !Number.isInteger(position)) throw new InputError(`${where(at)}: qualifyingTokenIndex ${position} is not a whole number`);
    let rankKey = a.maxValue ?? -Infinity;
    if (a.maxValue === null) for (let i = 0; i < acts.length; i++) rankKey = Math.max(rankKey, acts[i]!);
    this.lines.push(at.line);
    this.scalars.push({
      index: a.index,
      isInterval: isInterval ? 1 : 0,
      binMin: a.binMin ?? NaN,
      binMax: a.binMax ?? NaN,
      binContains: a.binContains ?? NaN,
      rankKey,
      maxAct: a.maxValue ?? Math.fround(acts[maxPos]!),
      maxPos,
      position: isInterval ? position : -1,
    });
    this.tokens.push(tokens);
    this.tokenStart.push(this.tokens.length);
    this.acts.push(acts);
    this.loss.push(lossValues);
    this.lossStart.push(this.loss.length);
  }

  /** the model's id of `piece`, or the batch's id for a string that is no piece (−1−k: unknown[k]) */
  tokenId(piece: string): number {
    const id = this.pieceIds.get(piece) ?? this.unknown.get(piece);
    if (id !== undefined) return id;
    const extra = -1 - this.unknown.size;
    this.unknown.set(piece, extra);
    return extra;
  }

  /** The activations added since the last take. */
  take(): ActivationBatch {
    const s = this.scalars;
    const column = <T extends Float64Array | Int32Array | Uint8Array>(Array: new (values: number[]) => T, pick: (x: (typeof s)[number]) => number) => new Array(s.map(pick));
    const batch: ActivationBatch = {
      file: this.file,
      lines: this.lines,
      count: s.length,
      index: column(Int32Array, (x) => x.index),
      isInterval: column(Uint8Array, (x) => x.isInterval),
      binMin: column(Float64Array, (x) => x.binMin),
      binMax: column(Float64Array, (x) => x.binMax),
      binContains: column(Float64Array, (x) => x.binContains),
      rankKey: column(Float64Array, (x) => x.rankKey),
      maxAct: column(Float64Array, (x) => x.maxAct),
      maxPos: column(Int32Array, (x) => x.maxPos),
      position: column(Int32Array, (x) => x.position),
      tokenStart: new Int32Array(this.tokenStart),
      tokens: this.tokens.take(),
      acts: this.acts.take(),
      lossStart: new Int32Array(this.lossStart),
      loss: this.loss.take(),
      unknown: [...this.unknown.keys()],
    };
    this.lines = [];
    this.scalars = [];
    this.tokenStart = [0];
    this.lossStart = [0];
    this.tokens.length = 0;
    this.acts.length = 0;
    this.loss.length = 0;
    this.unknown.clear();
    return batch;
  }
}
