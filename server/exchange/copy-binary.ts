/**
 * Rows for PostgreSQL's binary COPY format (postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4): an import's
 * examples go in as raw bytes, so neither this process hex-encodes the activations and prints the token arrays nor
 * PostgreSQL parses them back.
 */
import os from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** pg_type oid of int4, the element type of an integer[] column */
const INT4_OID = 23;
/** a Float32Array's bytes are already the little-endian float32s a bytea of activations holds */
const LITTLE_ENDIAN = os.endianness() === 'LE';

/** the signature, the flags and the header extension's length */
const HEADER_BYTES = SIGNATURE.length + 8;

export class BinaryRows {
  private buf = Buffer.allocUnsafe(1 << 20);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private at = 0;
  private rows = 0;
  /** int4Array's elements, big-endian */
  private elements = new Int32Array(0);

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

  /** an enum's label */
  text(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  /** integer[]: one dimension, no nulls, lower bound 1 */
  int4Array(values: Int32Array): this {
    this.room(4 + 20 + values.length * 8);
    this.i32(20 + values.length * 8);
    this.i32(1); // dimensions
    this.i32(0); // has nulls
    this.i32(INT4_OID);
    this.i32(values.length);
    this.i32(1); // lower bound
    // each element's length and value, big-endian, laid out in an aligned array and copied at once: a DataView call
    // per number cost more than the rest of the row
    if (this.elements.length < values.length * 2) this.elements = new Int32Array(values.length * 2);
    const elements = this.elements;
    for (let i = 0; i < values.length; i++) {
      elements[2 * i] = FOUR_BIG_ENDIAN;
      elements[2 * i + 1] = LITTLE_ENDIAN ? byteSwapped(values[i]!) : values[i]!;
    }
    this.buf.set(new Uint8Array(elements.buffer, 0, values.length * 8), this.at);
    this.at += values.length * 8;
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

const byteSwapped = (v: number) => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
/** 4 (an int4 element's length) as the machine reads the big-endian bytes */
const FOUR_BIG_ENDIAN = LITTLE_ENDIAN ? byteSwapped(4) : 4;

/** A uuid's 16 bytes, as binary COPY takes them. */
export const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replace(/-/g, ''), 'hex');
