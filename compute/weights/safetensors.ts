import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors';
import { fileExists } from '../file-exists';

/**
 * safetensors: an 8-byte little-endian u64 N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`,
 * then the raw little-endian data; offsets are relative to the start of the data section.
 * We read float tensors (F32, F16, BF16) and hand them out as Float32Array.
 */

/** The dtypes we can read. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsTensor {
  /** the dtype in the file; `data` is always float32 */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsEntry {
  /** as written in the file; may be a dtype we cannot read (e.g. I64) */
  dtype: string;
  shape: number[];
  /** byte range within the data section */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** absolute file offset of the data section (8 + header length) */
  dataStart: number;
  /** size of the data section in bytes */
  dataLength: number;
}

export interface ReadOptions {
  /** read only the tensors whose name passes; the others are not loaded from disk */
  only?: (name: string) => boolean;
}

/** Bytes per element of every dtype the format defines (so that any valid header can be checked). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};
const READABLE: ReadonlySet<string> = new Set<SafetensorsDtype>(['F32', 'F16', 'BF16']);

/** The reference implementation refuses headers above 100 MB; a larger length means a corrupt file. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads and validates the header; reads no tensor data. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await openForReading(file);
  try {
    const { size } = await handle.stat();
    if (size < 8) throw new InputError(`${file}: not a safetensors file (${size} bytes, shorter than the 8-byte header length)`);
    const lengthBytes = await readExactly(handle, 0, 8, file, 'header length');
    const headerLength = Buffer.from(lengthBytes.buffer).readBigUInt64LE(0);
    if (headerLength > BigInt(size - 8)) {
      throw new InputError(`${file}: header length ${headerLength} runs past the end of the file (${size} bytes); the file is truncated or not safetensors`);
    }
    if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new InputError(`${file}: header length ${headerLength} exceeds ${MAX_HEADER_BYTES} bytes`);
    const n = Number(headerLength);
    const headerBytes = await readExactly(handle, 8, n, file, 'header');
    return parseHeader(Buffer.from(headerBytes.buffer).toString('utf8'), file, 8 + n, size - 8 - n);
  } finally {
    await handle.close();
  }
}

function parseHeader(text: string, file: string, dataStart: number, dataLength: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) throw new InputError(`${file}: header must be a JSON object`);

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw new InputError(`${file}: "__metadata__" must be an object of strings`);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    tensors.set(name, parseEntry(name, value, file, dataLength));
  }

  // Tensors must not share bytes; sorting by start lets us compare neighbours only.
  const byStart = [...tensors].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  for (let i = 1; i < byStart.length; i++) {
    const [prevName, prev] = byStart[i - 1];
    const [name, entry] = byStart[i];
    if (entry.dataOffsets[0] < prev.dataOffsets[1]) {
      throw new InputError(
        `${file}: tensors "${prevName}" [${prev.dataOffsets}] and "${name}" [${entry.dataOffsets}] have overlapping data_offsets`,
      );
    }
  }
  return { tensors, metadata, dataStart, dataLength };
}

function parseEntry(name: string, value: unknown, file: string, dataLength: number): SafetensorsEntry {
  const where = `${file}: tensor "${name}"`;
  if (!isPlainObject(value)) throw new InputError(`${where}: header entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw new InputError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new InputError(`${where}: data_offsets must be [begin, end] byte offsets, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new InputError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  const expected = shape.reduce((a: number, d: number) => a * d, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw new InputError(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape}] of ${dtype} needs ${expected}`,
    );
  }
  if (end > dataLength) {
    throw new InputError(
      `${where}: data_offsets [${begin}, ${end}] run past the data section (${dataLength} bytes); the file is truncated`,
    );
  }
  return { dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/** Reads a safetensors file's float tensors (all, or those passing `only`) as float32. */
export async function readSafetensors(file: string, options: ReadOptions = {}): Promise<Map<string, SafetensorsTensor>> {
  const header = await readSafetensorsHeader(file);
  const wanted = [...header.tensors].filter(([name]) => !options.only || options.only(name));
  for (const [name, entry] of wanted) {
    if (!READABLE.has(entry.dtype)) {
      throw new InputError(`${file}: tensor "${name}" has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`);
    }
  }
  const handle = await openForReading(file);
  try {
    const out = new Map<string, SafetensorsTensor>();
    for (const [name, entry] of wanted) {
      const [begin, end] = entry.dataOffsets;
      const bytes = await readExactly(handle, header.dataStart + begin, end - begin, file, `tensor "${name}"`);
      const dtype = entry.dtype as SafetensorsDtype;
      out.set(name, { dtype, shape: entry.shape, data: toFloat32(bytes, dtype) });
    }
    return out;
  } finally {
    await handle.close();
  }
}

/**
 * Reads rows [first, first + count) of a 2-D float tensor as float32, and nothing else of the file: a large matrix
 * (an SAE's decoder) can be gone through a few rows at a time.
 */
export async function readSafetensorsRows(file: string, name: string, first: number, count: number): Promise<Float32Array> {
  const header = await readSafetensorsHeader(file);
  const entry = header.tensors.get(name);
  if (!entry) throw new InputError(`${file}: tensor "${name}" is missing`);
  if (!READABLE.has(entry.dtype)) throw new InputError(`${file}: tensor "${name}" has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`);
  if (entry.shape.length !== 2) throw new InputError(`${file}: tensor "${name}" has shape [${entry.shape}], not rows and columns`);
  const [rows, columns] = entry.shape as [number, number];
  if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 0 && first + count <= rows)) {
    throw new Error(`readSafetensorsRows: rows ${first}…${first + count - 1} are not within the ${rows} of "${name}"`);
  }
  const rowBytes = columns * DTYPE_BYTES[entry.dtype];
  const handle = await openForReading(file);
  try {
    const at = header.dataStart + entry.dataOffsets[0] + first * rowBytes;
    const bytes = await readExactly(handle, at, count * rowBytes, file, `tensor "${name}" rows ${first}…${first + count - 1}`);
    return toFloat32(bytes, entry.dtype as SafetensorsDtype);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a Hugging Face checkpoint directory: `model.safetensors.index.json` (its `weight_map` names the shard
 * of every tensor) or a single `model.safetensors`.
 */
export async function readShardedSafetensors(dir: string, options: ReadOptions = {}): Promise<Map<string, SafetensorsTensor>> {
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  let indexText: string;
  try {
    indexText = await fs.readFile(indexFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const single = path.join(dir, 'model.safetensors');
    if (!(await fileExists(single))) throw new InputError(`${dir}: neither model.safetensors nor model.safetensors.index.json exists`);
    return readSafetensors(single, options);
  }

  const shardOf = parseWeightMap(indexText, indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of shardOf) {
    if (options.only && !options.only(name)) continue;
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const out = new Map<string, SafetensorsTensor>();
  for (const [shard, names] of byShard) {
    const shardFile = path.join(dir, shard);
    const wanted = new Set(names);
    const tensors = await readSafetensors(shardFile, { only: (name) => wanted.has(name) });
    for (const name of names) {
      const tensor = tensors.get(name);
      if (!tensor) throw new InputError(`${indexFile}: tensor "${name}" is mapped to ${shard}, which does not contain it`);
      out.set(name, tensor);
    }
  }
  return out;
}

function parseWeightMap(text: string, indexFile: string): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${indexFile}: not valid JSON (${(err as Error).message})`);
  }
  const weightMap = isPlainObject(json) ? json.weight_map : undefined;
  if (!isPlainObject(weightMap)) throw new InputError(`${indexFile}: missing "weight_map" object`);
  const shardOf = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    // Shards live beside the index; anything else is either corrupt or an attempt to read other files.
    if (typeof shard !== 'string' || shard === '' || path.isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new InputError(`${indexFile}: tensor "${name}" maps to ${JSON.stringify(shard)}, not a shard file name in this directory`);
    }
    shardOf.set(name, shard);
  }
  return shardOf;
}

/**
 * Writes float32 tensors as a safetensors file. The file appears atomically (written beside it, then renamed),
 * so a crash never leaves a half-written file under the final name.
 */
export async function writeSafetensors(
  file: string,
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new InputError(`writeSafetensors: "__metadata__" is not a valid tensor name`);
    const numel = shape.reduce((a, d) => a * d, 1);
    if (numel !== data.length) throw new InputError(`writeSafetensors: tensor "${name}" has shape [${shape}] (${numel} values) but ${data.length} values`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  // Pad the JSON with spaces so the data section starts 8-byte aligned, as the reference writer does.
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));

  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.write(length);
    await handle.write(json);
    for (const { data } of Object.values(tensors)) await handle.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    await handle.close();
    await fs.rename(tmp, file);
  } catch (err) {
    await handle.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

// --- helpers -------------------------------------------------------------------------------------------

async function openForReading(file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${file}: file not found`);
    throw err;
  }
}

/** Reads `length` bytes at `position` into a fresh (so 4-byte aligned) buffer; short reads mean truncation. */
async function readExactly(handle: fs.FileHandle, position: number, length: number, file: string, what: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) throw new InputError(`${file}: ${what} is truncated (got ${done} of ${length} bytes)`);
    done += bytesRead;
  }
  return bytes;
}

/** The data is little-endian, as are the platforms Node runs on, so typed-array views read it directly. */
function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
  const halves = new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2);
  if (dtype === 'BF16') {
    const out = new Float32Array(halves.length);
    // bfloat16 is the top half of a float32
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
    return out;
  }
  return f16ToFloat32(halves);
}

/** IEEE half-precision values as float32. */
export function f16ToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const table = f16Table();
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}

let f16Values: Float32Array | undefined;

/** All 65536 IEEE half-precision values, decoded once. */
function f16Table(): Float32Array {
  if (f16Values) return f16Values;
  f16Values = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) f16Values[h] = sign * 2 ** -14 * (fraction / 1024); // subnormal
    else if (exponent === 0x1f) f16Values[h] = fraction ? NaN : sign * Infinity;
    else f16Values[h] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return f16Values;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
