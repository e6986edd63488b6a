/**
 * Rows for PostgreSQL's binary COPY format (postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4): an import's
 * examples go in as raw bytes, so neither this process hex-encodes the activations and prints the token arrays nor
 * PostgreSQL parses them back.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** pg_type oid of int4, the element type of an integer[] column */
const INT4_OID = 23;

export class BinaryRows {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  private rows = 0;

  constructor() {
    this.room(SIGNATURE.length + 8);
    this.at += SIGNATURE.copy(this.buf, this.at);
    this.at = this.buf.writeInt32BE(0, this.at); // flags
    this.at = this.buf.writeInt32BE(0, this.at); // header extension length
  }

  get empty(): boolean {
    return this.rows === 0;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  row(fields: number): this {
    this.rows++;
    this.room(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
    return this;
  }

  null(): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
    return this;
  }

  int4(v: number): this {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }

  int2(v: number): this {
    this.room(6);
    this.at = this.buf.writeInt32BE(2, this.at);
    this.at = this.buf.writeInt16BE(v, this.at);
    return this;
  }

  float4(v: number): this {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeFloatBE(v, this.at);
    return this;
  }

  /** bytea, and uuid (its 16 bytes) */
  bytes(b: Uint8Array): this {
    this.room(4 + b.byteLength);
    this.at = this.buf.writeInt32BE(b.byteLength, this.at);
    this.buf.set(b, this.at);
    this.at += b.byteLength;
    return this;
  }

  /** an enum's label */
  text(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  /** integer[]: one dimension, no nulls, lower bound 1 */
  int4Array(values: Int32Array): this {
    this.room(4 + 20 + values.length * 8);
    this.at = this.buf.writeInt32BE(20 + values.length * 8, this.at);
    this.at = this.buf.writeInt32BE(1, this.at); // dimensions
    this.at = this.buf.writeInt32BE(0, this.at); // has nulls
    this.at = this.buf.writeInt32BE(INT4_OID, this.at);
    this.at = this.buf.writeInt32BE(values.length, this.at);
    this.at = this.buf.writeInt32BE(1, this.at);
    for (const v of values) {
      this.at = this.buf.writeInt32BE(4, this.at);
      this.at = this.buf.writeInt32BE(v, this.at);
    }
    return this;
  }

  /** COPYs the rows into `target` ("table (columns…)") on the transaction's connection. */
  async copyInto(client: pg.PoolClient, target: string): Promise<void> {
    this.room(2);
    this.at = this.buf.writeInt16BE(-1, this.at); // trailer
    await pipeline(Readable.from([this.buf.subarray(0, this.at)]), client.query(copyFrom(`copy ${target} from stdin with (format binary)`)));
  }
}

/** A uuid's 16 bytes, as binary COPY takes them. */
export const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replace(/-/g, ''), 'hex');
