/**
 * Rows for PostgreSQL's binary COPY format (postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4): an import's
 * examples go in as raw bytes, so neither this process hex-encodes the activations and prints the tokens nor
 * PostgreSQL parses them back.
 */
import os from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** a Float32Array's (Int32Array's) bytes are already the little-endian float32s (int32s) a bytea of activations (tokens) holds */
const LITTLE_ENDIAN = os.endianness() === 'LE';

/** the signature, the flags and the header extension's length */
const HEADER_BYTES = SIGNATURE.length + 8;

export class BinaryRows {
  private buf = Buffer.allocUnsafe(1 << 20);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private at = 0;
  private rows = 0;

  constructor() {
    this.room(HEADER_BYTES);
    this.at += SIGNATURE.copy(this.buf, this.at);
    this.i32(0); // flags
    this.i32(0); // header extension length
  }

  /** Empties the rows, keeping the buffer (grown to what a batch needs) for the next batch: less for the GC to free. */
  reset(): this {
    this.at = HEADER_BYTES;
    this.rows = 0;
    return this;
  }

  get empty(): boolean {
    return this.rows === 0;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** a big-endian int32 (lengths and values alike), room made by the caller */
  private i32(v: number): void {
    this.view.setInt32(this.at, v);
    this.at += 4;
  }

  row(fields: number): this {
    this.rows++;
    this.room(2);
    this.view.setInt16(this.at, fields);
    this.at += 2;
    return this;
  }

  null(): this {
    this.room(4);
    this.i32(-1);
    return this;
  }

  int4(v: number): this {
    this.room(8);
    this.i32(4);
    this.i32(v);
    return this;
  }

  int2(v: number): this {
    this.room(6);
    this.i32(2);
    this.view.setInt16(this.at, v);
    this.at += 2;
    return this;
  }

  float4(v: number): this {
    this.room(8);
    this.i32(4);
    this.view.setFloat32(this.at, v);
    this.at += 4;
    return this;
  }

  /** bytea, and uuid (its 16 bytes) */
  bytes(b: Uint8Array): this {
    this.room(4 + b.byteLength);
    this.i32(b.byteLength);
    this.buf.set(b, this.at);
    this.at += b.byteLength;
    return this;
  }

  /** bytea of little-endian float32s (how examples store activations) */
  float32Bytes(values: ArrayLike<number>): this {
    if (LITTLE_ENDIAN && values instanceof Float32Array) return this.bytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    this.room(4 + values.length * 4);
    this.i32(values.length * 4);
    for (let i = 0; i < values.length; i++, this.at += 4) this.view.setFloat32(this.at, values[i]!, true);
    return this;
  }

  /** an enum's label, encoded in place (a Buffer.from per example row was garbage the importing thread collected) */
  text(s: string): this {
    this.room(4 + Buffer.byteLength(s, 'utf8'));
    const length = this.buf.write(s, this.at + 4, 'utf8');
    this.i32(length);
    this.at += length;
    return this;
  }

  /** bytea of source[from, to), copied without a view of it made (an import makes a few million rows) */
  byteRange(source: Buffer, from: number, to: number): this {
    this.room(4 + to - from);
    this.i32(to - from);
    this.at += source.copy(this.buf, this.at, from, to);
    return this;
  }

  /** COPYs the rows into `target` ("table (columns…)") on the transaction's connection. */
  async copyInto(client: pg.PoolClient, target: string): Promise<void> {
    this.room(2);
    this.view.setInt16(this.at, -1); // trailer
    this.at += 2;
    await pipeline(Readable.from([this.buf.subarray(0, this.at)]), client.query(copyFrom(`copy ${target} from stdin with (format binary)`)));
  }
}

/**
 * A typed array's values as little-endian bytes, for byteRange: its own bytes on a little-endian machine, else a
 * swapped copy. Int32s are how contexts store token ids (../context-tokens.ts), float32s how examples store activations.
 */
export function littleEndianBytes(values: Int32Array | Float32Array): Buffer {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap32();
}

/** A uuid's 16 bytes, as binary COPY takes them. */
export const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replace(/-/g, ''), 'hex');
