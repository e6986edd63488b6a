/**
 * An import's example activations packed into typed arrays: what the parsing threads hand the importing one
 * (./activation-threads.ts; the arrays are transferred, not copied, and their buffers come back to be filled again) and
 * what an ImportRun stores (./neuronpedia-store.ts). Each activation is checked as it is added, so a bad one is refused
 * naming its file and line wherever it was parsed, and its token strings become the model's token ids there too.
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

/** The buffers to transfer when posting a batch to another thread (and back again, for a BufferPool). */
export function batchBuffers(b: ActivationBatch): ArrayBuffer[] {
  const arrays = [b.index, b.isInterval, b.binMin, b.binMax, b.binContains, b.rankKey, b.maxAct, b.maxPos, b.position, b.tokenStart, b.tokens, b.acts, b.lossStart, b.loss];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/**
 * Buffers of batches the importing thread is done with, sent back to be filled again: a parsing thread that made a
 * megabyte of new arrays per batch, and an importing thread that freed them, spent much of their time in GC.
 */
export class BufferPool {
  /** spare buffers per column, in batchBuffers' order */
  private readonly shelves = new Map<number, ArrayBuffer[]>();

  /** Takes back a batch's buffers, as batchBuffers lists them. */
  put(buffers: ArrayBuffer[]): void {
    buffers.forEach((b, column) => {
      const shelf = this.shelves.get(column);
      if (shelf) shelf.push(b);
      else this.shelves.set(column, [b]);
    });
  }

  /** a spare buffer of the column, or null */
  take(column: number): ArrayBuffer | null {
    return this.shelves.get(column)?.pop() ?? null;
  }
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

type Column = Int32Array | Float32Array | Float64Array | Uint8Array;

/** A typed array that grows as values are appended; it starts from a pooled buffer when there is one. */
class Growing<T extends Column> {
  length = 0;
  private array: T;

  constructor(
    private readonly Type: new (from: number | ArrayBuffer) => T,
    /** its place in batchBuffers' order, the pool's shelf */
    private readonly column: number,
    private readonly pool: BufferPool | null,
  ) {
    this.array = this.fresh();
  }

  private fresh(): T {
    const spare = this.pool?.take(this.column);
    return spare ? new this.Type(spare) : new this.Type(64);
  }

  private room(n: number): void {
    if (this.length + n <= this.array.length) return;
    const grown = new this.Type(Math.max(this.array.length * 2, this.length + n));
    grown.set(this.array.subarray(0, this.length));
    this.array = grown;
  }

  push(values: ArrayLike<number>): void {
    this.room(values.length);
    this.array.set(values, this.length);
    this.length += values.length;
  }

  pushOne(value: number): void {
    this.room(1);
    this.array[this.length++] = value;
  }

  /** the values so far, in the batch's hands from now on (the next go into another array) */
  take(): T {
    const taken = this.array.subarray(0, this.length) as T;
    this.array = this.fresh();
    this.length = 0;
    return taken;
  }
}

/** Gathers checked activations of one file into batches. */
export class ActivationBatcher {
  private lines: (number | string)[] = [];
  // the columns, in batchBuffers' order
  private readonly index: Growing<Int32Array>;
  private readonly isInterval: Growing<Uint8Array>;
  private readonly binMin: Growing<Float64Array>;
  private readonly binMax: Growing<Float64Array>;
  private readonly binContains: Growing<Float64Array>;
  private readonly rankKey: Growing<Float64Array>;
  private readonly maxAct: Growing<Float64Array>;
  private readonly maxPos: Growing<Int32Array>;
  private readonly position: Growing<Int32Array>;
  private readonly tokenStart: Growing<Int32Array>;
  private readonly tokens: Growing<Int32Array>;
  private readonly acts: Growing<Float32Array>;
  private readonly lossStart: Growing<Int32Array>;
  private readonly loss: Growing<Float32Array>;
  private unknown = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly pieceIds: Map<string, number>,
    private readonly dSae: number,
    /** buffers of earlier batches to fill again, if the batches' reader gives them back */
    pool: BufferPool | null = null,
  ) {
    let column = 0;
    const growing = <T extends Column>(Type: new (from: number | ArrayBuffer) => T) => new Growing(Type, column++, pool);
    this.index = growing(Int32Array);
    this.isInterval = growing(Uint8Array);
    this.binMin = growing(Float64Array);
    this.binMax = growing(Float64Array);
    this.binContains = growing(Float64Array);
    this.rankKey = growing(Float64Array);
    this.maxAct = growing(Float64Array);
    this.maxPos = growing(Int32Array);
    this.position = growing(Int32Array);
    this.tokenStart = growing(Int32Array);
    this.tokens = growing(Int32Array);
    this.acts = growing(Float32Array);
    this.lossStart = growing(Int32Array);
    this.loss = growing(Float32Array);
    this.tokenStart.pushOne(0);
    this.lossStart.pushOne(0);
  }

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
    this.index.pushOne(a.index);
    this.isInterval.pushOne(isInterval ? 1 : 0);
    this.binMin.pushOne(a.binMin ?? NaN);
    this.binMax.pushOne(a.binMax ?? NaN);
    this.binContains.pushOne(a.binContains ?? NaN);
    this.rankKey.pushOne(rankKey);
    this.maxAct.pushOne(a.maxValue ?? Math.fround(acts[maxPos]!));
    this.maxPos.pushOne(maxPos);
    this.position.pushOne(isInterval ? position : -1);
    this.tokens.push(tokens);
    this.tokenStart.pushOne(this.tokens.length);
    this.acts.push(acts);
    this.loss.push(lossValues);
    this.lossStart.pushOne(this.loss.length);
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
    const batch: ActivationBatch = {
      file: this.file,
      lines: this.lines,
      count: this.lines.length,
      index: this.index.take(),
      isInterval: this.isInterval.take(),
      binMin: this.binMin.take(),
      binMax: this.binMax.take(),
      binContains: this.binContains.take(),
      rankKey: this.rankKey.take(),
      maxAct: this.maxAct.take(),
      maxPos: this.maxPos.take(),
      position: this.position.take(),
      tokenStart: this.tokenStart.take(),
      tokens: this.tokens.take(),
      acts: this.acts.take(),
      lossStart: this.lossStart.take(),
      loss: this.loss.take(),
      unknown: [...this.unknown.keys()],
    };
    this.lines = [];
    this.tokenStart.pushOne(0);
    this.lossStart.pushOne(0);
    this.unknown.clear();
    return batch;
  }
}
