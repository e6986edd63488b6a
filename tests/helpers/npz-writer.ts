/**
 * A small `.npz` writer for tests, written from the formats' specifications (NumPy NEP 1 for `.npy`, PKWARE APPNOTE
 * for zip): entries stored or deflated, optionally with zip64 records as numpy writes them (sizes and offsets saturated
 * in the 32-bit fields, the real ones in the zip64 extra field and end records).
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface NpyArray {
  /** an npy descr, e.g. '<f4' */
  descr: string;
  shape: number[];
  /** the array's bytes as they follow the header */
  bytes: Uint8Array;
  fortranOrder?: boolean;
}

export const f32 = (shape: number[], data: ArrayLike<number>): NpyArray => ({ descr: '<f4', shape, bytes: new Uint8Array(Float32Array.from(data).buffer) });
export const f64 = (shape: number[], data: ArrayLike<number>): NpyArray => ({ descr: '<f8', shape, bytes: new Uint8Array(Float64Array.from(data).buffer) });

/** `.npy` bytes, version 1.0; the header padded so the data starts at a multiple of `align` (numpy: 64). */
export function npyBytes({ descr, shape, bytes, fortranOrder = false }: NpyArray, align = 64): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let text = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + text.length + 1;
  text += ' '.repeat((align - (total % align)) % align) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1'), bytes]);
}

export interface NpzOptions {
  compress?: boolean;
  zip64?: boolean;
  /** npy header alignment (numpy: 64) */
  align?: number;
}

/** Writes `arrays` as NAME.npy entries of a zip archive; a raw Buffer value is written as the entry's bytes. */
export function writeNpz(file: string, arrays: Record<string, NpyArray | Buffer>, { compress = false, zip64 = false, align = 64 }: NpzOptions = {}): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, array] of Object.entries(arrays)) {
    const data = Buffer.isBuffer(array) ? array : npyBytes(array, align);
    const body = compress ? zlib.deflateRawSync(data) : data;
    const fileName = Buffer.from(`${name}.npy`);
    const crc = zlib.crc32(data);
    const sizes = zip64 ? [0xffffffff, 0xffffffff] : [body.length, data.length];
    const localExtra = zip64 ? zip64Extra([data.length, body.length]) : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(compress ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(sizes[0]!, 18);
    local.writeUInt32LE(sizes[1]!, 22);
    local.writeUInt16LE(fileName.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    locals.push(local, fileName, localExtra, body);

    const centralExtra = zip64 ? zip64Extra([data.length, body.length, offset]) : Buffer.alloc(0);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(zip64 ? 45 : 20, 4);
    central.writeUInt16LE(zip64 ? 45 : 20, 6);
    central.writeUInt16LE(compress ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(sizes[0]!, 20);
    central.writeUInt32LE(sizes[1]!, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    centrals.push(central, fileName, centralExtra);
    offset += 30 + fileName.length + localExtra.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const count = Object.keys(arrays).length;
  const ends: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(cd.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    ends.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : count, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : count, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  fs.writeFileSync(file, Buffer.concat([...locals, cd, ...ends, eocd]));
}

function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return extra;
}
