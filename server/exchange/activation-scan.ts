/**
 * Reading a Neuronpedia activation line's bytes straight into an ActivationBatcher, without JSON.parse: the parse
 * built a string for every token and an object for every line, which was most of an import's CPU time. Token strings
 * are looked up by their UTF-8 bytes, numbers read from their digits.
 *
 * Only lines of the expected shape are read here; anything else (an escaped key, a field of an unexpected type, a
 * repeated field, text that is not JSON) makes `scan` return false without touching the batcher, and the caller parses
 * the line with JSON.parse, which gives the same activation or the error naming the problem.
 */
import type { At } from './neuronpedia-files';
import type { ActivationBatcher, ActivationScalars } from './activation-batch';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= ZERO && c <= NINE;

/** 10^0 … 10^22, each exact as a double */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** at most this many significant digits form an integer that a double holds exactly */
const EXACT_DIGITS = 15;

/** FNV-1a over bytes, one step */
const fnv = (hash: number, byte: number) => Math.imul(hash ^ byte, 0x01000193);
const FNV_START = 0x811c9dc5 | 0;

/** The vocabulary's pieces by their UTF-8 bytes: an open-addressing table (first id of a piece spelt twice). */
class PieceTable {
  private readonly bytes: Uint8Array;
  private readonly start: Int32Array;
  /** id + 1 per slot, 0 for an empty one */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(pieces: string[]) {
    const encoded = pieces.map((p) => Buffer.from(p, 'utf8'));
    this.bytes = Buffer.concat(encoded);
    this.start = new Int32Array(pieces.length + 1);
    encoded.forEach((b, id) => (this.start[id + 1] = this.start[id]! + b.length));
    let size = 1;
    while (size < pieces.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    encoded.forEach((b, id) => {
      let hash = FNV_START;
      for (const byte of b) hash = fnv(hash, byte);
      if (this.find(b, 0, b.length, hash) === -1) {
        let slot = hash & this.mask;
        while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
        this.slots[slot] = id + 1;
      }
    });
  }

  /** the id of the piece spelt by `line[from, to)`, whose FNV-1a hash is `hash`; −1 if none is */
  find(line: Uint8Array, from: number, to: number, hash: number): number {
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      const start = this.start[id]!;
      if (this.start[id + 1]! - start === to - from && sameBytes(this.bytes, start, line, from, to - from)) return id;
    }
  }
}

/** whether a[aFrom…] and b[bFrom…] hold the same `length` bytes (a loop: Buffer.compare's native call costs more) */
function sameBytes(a: Uint8Array, aFrom: number, b: Uint8Array, bFrom: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[aFrom + k] !== b[bFrom + k]) return false;
  return true;
}

/** Numbers of a line (token ids too: one array type keeps the loops that fill them monomorphic), grown as needed. */
class Scratch {
  length = 0;
  array = new Float64Array(256);

  push(v: number): void {
    if (this.length === this.array.length) {
      const grown = new Float64Array(this.array.length * 2);
      grown.set(this.array);
      this.array = grown;
    }
    this.array[this.length++] = v;
  }

  get values(): Float64Array {
    return this.array.subarray(0, this.length);
  }
}

/** The fields of an activation line this reads; any other is skipped. */
const SCALAR_KEYS = ['maxValue', 'maxValueTokenIndex', 'binMin', 'binMax', 'binContains', 'qualifyingTokenIndex'] as const;
type ScalarKey = (typeof SCALAR_KEYS)[number];
const KEYS = ['index', 'tokens', 'values', 'lossValues', ...SCALAR_KEYS];
const KEY_BYTES = KEYS.map((key) => Buffer.from(key, 'latin1'));
/** seen-bits of the fields a line must have */
const REQUIRED = 0b111;

/** Thrown inside a scan when the line is not of the shape read here; the caller falls back to JSON.parse. */
const NOT_SIMPLE = Symbol('not a simple line');

export class ActivationScanner {
  private readonly table: PieceTable;
  private readonly tokens = new Scratch();
  private readonly values = new Scratch();
  private readonly loss = new Scratch();
  /** the line's token strings that are no piece (token −1−k: the k-th), given to the batcher once the line is read */
  private readonly misses = new Map<string, number>();
  private line: Buffer = Buffer.alloc(0);
  private at = 0;
  private end = 0;

  constructor(pieces: string[]) {
    this.table = new PieceTable(pieces);
  }

  /** Adds the activation on `line` to `batcher` and returns true, or returns false (nothing added) if it is not simple. */
  scan(line: Buffer, batcher: ActivationBatcher, at: At): boolean {
    this.line = line;
    this.at = 0;
    this.end = line.length;
    this.tokens.length = this.values.length = this.loss.length = 0;
    this.misses.clear();
    const scalars: ActivationScalars = { index: -1, maxValue: null, maxValueTokenIndex: null, binMin: null, binMax: null, binContains: null, qualifyingTokenIndex: null };
    /** bit k: KEYS[k] was read */
    let seen = 0;
    try {
      this.expect(0x7b); // {
      if (this.peek() === 0x7d) throw NOT_SIMPLE; // {} lacks the index: JSON.parse's path says so
      for (;;) {
        const k = this.key();
        if (k >= 0 && seen & (1 << k)) throw NOT_SIMPLE;
        if (k >= 0) seen |= 1 << k;
        this.expect(COLON);
        if (k === 0) scalars.index = this.index();
        else if (k === 1) this.tokenList();
        else if (k === 2) this.numberList(this.values, false);
        else if (k === 3) this.numberList(this.loss, true);
        else if (k > 3) scalars[KEYS[k] as ScalarKey] = this.optionalNumber();
        else this.skipValue();
        const c = this.next();
        if (c === 0x7d) break; // }
        if (c !== COMMA) throw NOT_SIMPLE;
      }
      if (this.peek() !== -1 || (seen & REQUIRED) !== REQUIRED) throw NOT_SIMPLE;
    } catch (err) {
      // a RangeError: values nested deeper than skipValue's recursion goes, left to JSON.parse as well
      if (err === NOT_SIMPLE || err instanceof RangeError) return false;
      throw err;
    }
    const tokens = this.tokens.values;
    if (this.misses.size > 0) {
      const ids = [...this.misses.keys()].map((piece) => batcher.tokenId(piece));
      for (let t = 0; t < tokens.length; t++) if (tokens[t]! < 0) tokens[t] = ids[-1 - tokens[t]!]!;
    }
    batcher.addIds(scalars, tokens, this.values.values, this.loss.values, at);
    return true;
  }

  /** the next byte that is not white space, consumed */
  private next(): number {
    const c = this.peek();
    if (c === -1) throw NOT_SIMPLE;
    this.at++;
    return c;
  }

  /** the next byte that is not white space (−1 at the end), not consumed */
  private peek(): number {
    while (this.at < this.end && isSpace(this.line[this.at]!)) this.at++;
    return this.at < this.end ? this.line[this.at]! : -1;
  }

  private expect(c: number): void {
    if (this.next() !== c) throw NOT_SIMPLE;
  }

  /** a key without escapes: its place in KEYS, −1 for a field not read here (compared as bytes: no string made) */
  private key(): number {
    this.expect(QUOTE);
    const { line, end } = this;
    const from = this.at;
    while (this.at < end && line[this.at] !== QUOTE) {
      if (line[this.at] === BACKSLASH) throw NOT_SIMPLE;
      this.at++;
    }
    if (this.at === end) throw NOT_SIMPLE;
    const length = this.at++ - from;
    return KEY_BYTES.findIndex((key) => key.length === length && sameBytes(key, 0, line, from, length));
  }

  /** a feature index: a string of digits (Neuronpedia's) or a whole number */
  private index(): number {
    if (this.peek() !== QUOTE) {
      const n = this.number();
      if (!Number.isSafeInteger(n)) throw NOT_SIMPLE;
      return n;
    }
    this.at++;
    const from = this.at;
    let n = 0;
    while (this.at < this.end && isDigit(this.line[this.at]!)) n = n * 10 + this.line[this.at++]! - ZERO;
    if (this.at === from || this.at - from > EXACT_DIGITS || this.line[this.at] !== QUOTE) throw NOT_SIMPLE;
    this.at++;
    return n;
  }

  /** null or a number */
  private optionalNumber(): number | null {
    if (this.peek() !== 0x6e) return this.number(); // n
    this.literal('null');
    return null;
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) if (this.line[this.at++] !== word.charCodeAt(k)) throw NOT_SIMPLE;
  }

  /** a finite JSON number, read exactly when its digits and exponent allow (Clinger's fast path), else by Number() */
  private number(): number {
    const line = this.line;
    const from = this.peek() === -1 ? this.end : this.at;
    let at = from;
    const negative = line[at] === MINUS;
    if (negative) at++;
    let mantissa = 0;
    let digits = 0;
    let exponent = 0;
    const intFrom = at;
    while (at < this.end && isDigit(line[at]!)) {
      if (digits > 0 || line[at] !== ZERO) digits++;
      mantissa = mantissa * 10 + line[at++]! - ZERO;
    }
    // no digits, or a leading zero before more digits: not JSON
    if (at === intFrom || (line[intFrom] === ZERO && at - intFrom > 1)) throw NOT_SIMPLE;
    if (line[at] === DOT) {
      const fracFrom = ++at;
      while (at < this.end && isDigit(line[at]!)) {
        if (digits > 0 || line[at] !== ZERO) digits++;
        mantissa = mantissa * 10 + line[at++]! - ZERO;
      }
      if (at === fracFrom) throw NOT_SIMPLE;
      exponent -= at - fracFrom;
    }
    if (line[at] === 0x65 || line[at] === 0x45) {
      // e, E
      at++;
      const sign = line[at] === MINUS ? -1 : 1;
      if (line[at] === MINUS || line[at] === 0x2b) at++;
      const expFrom = at;
      let e = 0;
      while (at < this.end && isDigit(line[at]!)) e = Math.min(e * 10 + line[at++]! - ZERO, 1e6);
      if (at === expFrom) throw NOT_SIMPLE;
      exponent += sign * e;
    }
    this.at = at;
    let value: number;
    if (digits <= EXACT_DIGITS && exponent >= -22 && exponent <= 22) {
      value = exponent < 0 ? mantissa / POWERS_OF_TEN[-exponent]! : mantissa * POWERS_OF_TEN[exponent]!;
      if (negative) value = -value;
    } else {
      value = Number(line.toString('latin1', from, at));
    }
    if (!Number.isFinite(value)) throw NOT_SIMPLE;
    return value;
  }

  /** a list of numbers; null (or absent) is an empty one where `nullable` */
  private numberList(into: Scratch, nullable: boolean): void {
    if (nullable && this.peek() === 0x6e) return this.literal('null');
    this.expect(0x5b); // [
    if (this.peek() === 0x5d) {
      this.at++;
      return;
    }
    const line = this.line;
    for (;;) {
      // most of an activation's values are a bare 0 (a feature is silent on most tokens): read without number()
      const at = this.at;
      if (line[at] === ZERO && (line[at + 1] === COMMA || line[at + 1] === 0x5d)) {
        into.push(0);
        this.at = at + 1;
      } else {
        into.push(this.number());
      }
      const c = this.next();
      if (c === 0x5d) return;
      if (c !== COMMA) throw NOT_SIMPLE;
    }
  }

  /** a list of token strings, as the model's token ids (−1−k for the k-th string that is no piece) */
  private tokenList(): void {
    this.expect(0x5b); // [
    if (this.peek() === 0x5d) {
      this.at++;
      return;
    }
    // the hottest loop of an import: locals, not fields
    const { line, end, table, tokens } = this;
    let at = this.at;
    for (;;) {
      while (at < end && isSpace(line[at]!)) at++;
      if (line[at] !== QUOTE) throw NOT_SIMPLE;
      const from = ++at;
      let hash = FNV_START;
      let escaped = false;
      let c = 0;
      while (at < end && (c = line[at]!) !== QUOTE) {
        if (c === BACKSLASH) {
          escaped = true;
          at += 2;
        } else {
          if (c < 0x20) throw NOT_SIMPLE;
          hash = fnv(hash, c);
          at++;
        }
      }
      if (at >= end) throw NOT_SIMPLE;
      const id = escaped ? -1 : table.find(line, from, at, hash);
      tokens.push(id >= 0 ? id : this.miss(this.decode(from, at)));
      at++;
      while (at < end && isSpace(line[at]!)) at++;
      c = line[at++]!;
      if (c === 0x5d) break;
      if (c !== COMMA) throw NOT_SIMPLE;
    }
    this.at = at;
  }

  private miss(piece: string): number {
    let k = this.misses.get(piece);
    if (k === undefined) this.misses.set(piece, (k = this.misses.size));
    return -1 - k;
  }

  /** the string between the quotes at from − 1 and `to` (rare: a token with escapes, or no piece of the vocabulary) */
  private decode(from: number, to: number): string {
    try {
      return JSON.parse(this.line.toString('utf8', from - 1, to + 1)) as string;
    } catch {
      throw NOT_SIMPLE;
    }
  }

  /** any JSON value of a field not read here */
  private skipValue(): void {
    const c = this.peek();
    if (c === QUOTE) {
      this.at++;
      while (this.at < this.end && this.line[this.at] !== QUOTE) {
        if (this.line[this.at]! < 0x20) throw NOT_SIMPLE;
        this.at += this.line[this.at] === BACKSLASH ? 2 : 1;
      }
      if (this.at >= this.end) throw NOT_SIMPLE;
      this.at++;
    } else if (c === 0x5b || c === 0x7b) {
      const close = c === 0x5b ? 0x5d : 0x7d;
      this.at++;
      if (this.peek() === close) {
        this.at++;
        return;
      }
      for (;;) {
        if (close === 0x7d) {
          this.key();
          this.expect(COLON);
        }
        this.skipValue();
        const next = this.next();
        if (next === close) return;
        if (next !== COMMA) throw NOT_SIMPLE;
      }
    } else if (c === 0x74) this.literal('true');
    else if (c === 0x66) this.literal('false');
    else if (c === 0x6e) this.literal('null');
    else this.number();
  }
}
