import { createReadStream, promises as fs } from 'node:fs';
import zlib from 'node:zlib';
import { InputError } from '../errors';
import { parseNpyHeader, toFloat32, type NpyHeader } from './npy';

/**
 * NumPy `.npz`: a zip archive holding one `NAME.npy` per array. `np.savez` stores the entries, `np.savez_compressed`
 * deflates them; numpy writes zip64 records, which an entry over 4 GiB needs (a 262k-wide Gemma Scope W_enc at
 * d_model 2304 is 2.4 GB). Only the central directory and each entry's npy header are read up front; an array is
 * read straight into its Float32Array (by offset when stored, inflated chunk by chunk when deflated), so the file is
 * never held in memory whole.
 */

export interface NpzArray {
  /** the npy descr, e.g. "<f4" */
  dtype: string;
  shape: number[];
  /** always float32, whatever the file holds */
  data: Float32Array;
}

export interface NpzEntry extends NpyHeader {
  /** the array's name: the entry's name without ".npy" */
  name: string;
}

interface ZipEntry {
  /** the file name in the archive, e.g. "W_enc.npy" */
  fileName: string;
  method: 'stored' | 'deflated';
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
/** the end-of-central-directory record is 22 bytes plus a comment of at most 65535 */
const EOCD_SEARCH = 22 + 0xffff;
/** enough of an entry's start to hold any npy header numpy writes (it pads them to 64 or 4096 bytes) */
const NPY_HEADER_PEEK = 64 * 1024;
/** bytes read at a time from a stored entry that needs converting (f2, f8) */
const CHUNK = 16 * 1024 * 1024;

/** The archive's arrays: names, dtypes and shapes, from the central directory and each entry's npy header. */
export async function readNpzHeader(file: string): Promise<Map<string, NpzEntry>> {
  const archive = await openArchive(file);
  try {
    const out = new Map<string, NpzEntry>();
    for (const entry of archive.entries.values()) out.set(arrayName(entry), { name: arrayName(entry), ...(await npyHeaderOf(archive, entry)).header });
    return out;
  } finally {
    await archive.handle.close();
  }
}

/** Reads the named arrays (all when `names` is not given) as float32. */
export async function readNpz(file: string, names?: readonly string[]): Promise<Map<string, NpzArray>> {
  const archive = await openArchive(file);
  try {
    const byName = new Map([...archive.entries.values()].map((e) => [arrayName(e), e]));
    const out = new Map<string, NpzArray>();
    for (const name of names ?? [...byName.keys()]) {
      const entry = byName.get(name);
      if (!entry) throw new InputError(`${file}: no array "${name}" (entry ${name}.npy); the archive holds ${[...byName.keys()].join(', ') || 'nothing'}`);
      out.set(name, await readArray(archive, entry));
    }
    return out;
  } finally {
    await archive.handle.close();
  }
}

interface Archive {
  file: string;
  handle: fs.FileHandle;
  size: number;
  entries: Map<string, ZipEntry>;
}

const arrayName = (entry: ZipEntry) => entry.fileName.replace(/\.npy$/, '');

async function openArchive(file: string): Promise<Archive> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${file}: file not found`);
    throw err;
  }
  try {
    const { size } = await handle.stat();
    return { file, handle, size, entries: await readCentralDirectory(handle, file, size) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readCentralDirectory(handle: fs.FileHandle, file: string, size: number): Promise<Map<string, ZipEntry>> {
  const notZip = `${file}: not an npz file (no zip end-of-central-directory record)`;
  const tailStart = Math.max(0, size - EOCD_SEARCH);
  const tail = await readAt(handle, tailStart, size - tailStart, file, 'end of the archive');
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new InputError(notZip);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  // zip64: the record's fields are saturated and the real ones sit in the zip64 record the locator points at
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_EOCD_LOCATOR) throw new InputError(`${file}: zip64 end-of-central-directory locator missing`);
    const record = await readAt(handle, toNumber(tail.readBigUInt64LE(locator + 8)), 56, file, 'zip64 end-of-central-directory record');
    if (record.readUInt32LE(0) !== ZIP64_EOCD) throw new InputError(`${file}: zip64 end-of-central-directory record missing`);
    count = toNumber(record.readBigUInt64LE(32));
    cdSize = toNumber(record.readBigUInt64LE(40));
    cdOffset = toNumber(record.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw new InputError(`${file}: the zip central directory runs past the end of the file; the file is truncated`);

  const cd = await readAt(handle, cdOffset, cdSize, file, 'zip central directory');
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_HEADER) throw new InputError(`${file}: zip central directory entry ${n} is corrupt`);
    const flags = cd.readUInt16LE(at + 8);
    const methodCode = cd.readUInt16LE(at + 10);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const fileName = cd.toString('utf8', at + 46, at + 46 + nameLength);
    let size32: number = cd.readUInt32LE(at + 24);
    let compressed32: number = cd.readUInt32LE(at + 20);
    let offset32: number = cd.readUInt32LE(at + 42);
    // the zip64 extra field holds, in this order, only the fields saturated above
    const extra = cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; e += 4 + extra.readUInt16LE(e + 2)) {
      if (extra.readUInt16LE(e) !== ZIP64_EXTRA) continue;
      let p = e + 4;
      const next = () => {
        const value = toNumber(extra.readBigUInt64LE(p));
        p += 8;
        return value;
      };
      if (size32 === 0xffffffff) size32 = next();
      if (compressed32 === 0xffffffff) compressed32 = next();
      if (offset32 === 0xffffffff) offset32 = next();
    }
    const where = `${file}: entry "${fileName}"`;
    if (flags & 1) throw new InputError(`${where} is encrypted`);
    if (methodCode !== 0 && methodCode !== 8) throw new InputError(`${where} uses zip compression method ${methodCode}; only stored (0) and deflated (8) are read`);
    if (!fileName.endsWith('.npy')) throw new InputError(`${where} is not a .npy array; an npz archive holds only .npy entries`);
    entries.set(fileName, {
      fileName,
      method: methodCode === 0 ? 'stored' : 'deflated',
      compressedSize: compressed32,
      size: size32,
      crc32: cd.readUInt32LE(at + 16),
      localHeaderOffset: offset32,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Where an entry's bytes start: after its local header, whose name and extra lengths may differ from the central one's. */
async function dataStart(archive: Archive, entry: ZipEntry): Promise<number> {
  const local = await readAt(archive.handle, entry.localHeaderOffset, 30, archive.file, `local header of "${entry.fileName}"`);
  if (local.readUInt32LE(0) !== LOCAL_HEADER) throw new InputError(`${archive.file}: entry "${entry.fileName}": local header missing at offset ${entry.localHeaderOffset}`);
  const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (start + entry.compressedSize > archive.size) throw new InputError(`${archive.file}: entry "${entry.fileName}" runs past the end of the file; the file is truncated`);
  return start;
}

/** The entry's npy header and how many bytes of the (uncompressed) entry it takes. */
async function npyHeaderOf(archive: Archive, entry: ZipEntry): Promise<{ header: NpyHeader; headerLength: number; start: number }> {
  const start = await dataStart(archive, entry);
  const peek = Math.min(entry.size, NPY_HEADER_PEEK);
  const bytes =
    entry.method === 'stored'
      ? await readAt(archive.handle, start, peek, archive.file, `entry "${entry.fileName}"`)
      : await inflatePrefix(archive, entry, start, peek);
  const where = `${archive.file}: entry "${entry.fileName}"`;
  const { header, headerLength } = parseNpyHeader(bytes, where);
  const dataBytes = header.shape.reduce((a, d) => a * d, 1) * header.itemSize;
  if (headerLength + dataBytes !== entry.size) {
    throw new InputError(`${where}: shape [${header.shape.join(', ')}] of ${header.dtype} needs ${dataBytes} bytes after the header, the entry holds ${entry.size - headerLength}`);
  }
  return { header, headerLength, start };
}

async function readArray(archive: Archive, entry: ZipEntry): Promise<NpzArray> {
  const { header, headerLength, start } = await npyHeaderOf(archive, entry);
  const where = `${archive.file}: entry "${entry.fileName}"`;
  const count = header.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(count);
  const crc = { value: 0 };

  if (entry.method === 'stored') {
    // float32 lands in the output's own bytes; other dtypes convert a chunk at a time
    const direct = header.dtype === '<f4';
    crc.value = zlib.crc32(await readAt(archive.handle, start, headerLength, archive.file, where));
    const total = count * header.itemSize;
    for (let done = 0; done < total; ) {
      const length = direct ? Math.min(total - done, CHUNK) : Math.min(total - done, Math.floor(CHUNK / header.itemSize) * header.itemSize);
      const chunk = direct
        ? new Uint8Array(out.buffer, done, length)
        : new Uint8Array(new ArrayBuffer(length));
      await readInto(archive.handle, chunk, start + headerLength + done, archive.file, where);
      crc.value = zlib.crc32(chunk, crc.value);
      if (!direct) out.set(toFloat32(chunk, header.dtype), done / header.itemSize);
      done += length;
    }
  } else {
    await inflateArray(archive, entry, start, headerLength, header, out, crc);
  }
  if (crc.value >>> 0 !== entry.crc32) throw new InputError(`${where}: CRC-32 mismatch (the archive is corrupt)`);
  return { dtype: header.dtype, shape: header.shape, data: out };
}

/** The first `length` bytes of a deflated entry. */
async function inflatePrefix(archive: Archive, entry: ZipEntry, start: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  const inflate = zlib.createInflateRaw();
  if (entry.compressedSize === 0) return Buffer.alloc(0);
  const source = createReadStream(archive.file, { start, end: start + entry.compressedSize - 1 });
  try {
    for await (const chunk of source.pipe(inflate)) {
      parts.push(chunk as Buffer);
      got += (chunk as Buffer).length;
      if (got >= length) break;
    }
  } catch (err) {
    throw new InputError(`${archive.file}: entry "${entry.fileName}": cannot inflate (${(err as Error).message})`);
  } finally {
    source.unpipe(inflate);
    source.destroy();
    inflate.destroy();
  }
  return Buffer.concat(parts).subarray(0, length);
}

/** Inflates a deflated entry into `out`: the npy header is skipped, the data converted as it arrives. */
async function inflateArray(
  archive: Archive,
  entry: ZipEntry,
  start: number,
  headerLength: number,
  header: NpyHeader,
  out: Float32Array,
  crc: { value: number },
): Promise<void> {
  const where = `${archive.file}: entry "${entry.fileName}"`;
  const outBytes = new Uint8Array(out.buffer);
  const direct = header.dtype === '<f4';
  // bytes of a value split across two chunks wait here for the rest
  let pending = Buffer.alloc(0);
  let position = 0;
  let written = 0;
  const source = createReadStream(archive.file, { start, end: start + entry.compressedSize - 1 });
  try {
    for await (const raw of source.pipe(zlib.createInflateRaw())) {
      const chunk = raw as Buffer;
      crc.value = zlib.crc32(chunk, crc.value);
      let data = chunk;
      if (position < headerLength) data = chunk.subarray(Math.min(chunk.length, headerLength - position));
      position += chunk.length;
      if (position > entry.size) throw new InputError(`${where}: inflates to more than the ${entry.size} bytes the archive lists`);
      if (direct) {
        outBytes.set(data, written);
        written += data.length;
        continue;
      }
      const joined = pending.length ? Buffer.concat([pending, data]) : data;
      const whole = joined.length - (joined.length % header.itemSize);
      const values = toFloat32(new Uint8Array(joined.buffer.slice(joined.byteOffset, joined.byteOffset + whole)), header.dtype);
      out.set(values, written / 4);
      written += values.length * 4;
      pending = Buffer.from(joined.subarray(whole));
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${where}: cannot inflate (${(err as Error).message})`);
  } finally {
    source.destroy();
  }
  if (position !== entry.size) throw new InputError(`${where}: inflates to ${position} bytes, the archive lists ${entry.size}; the file is truncated or corrupt`);
}

async function readAt(handle: fs.FileHandle, position: number, length: number, file: string, what: string): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  await readInto(handle, bytes, position, file, what);
  return bytes;
}

async function readInto(handle: fs.FileHandle, bytes: Uint8Array, position: number, file: string, what: string): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesRead } = await handle.read(bytes, done, bytes.length - done, position + done);
    if (bytesRead === 0) throw new InputError(`${file}: ${what} is truncated (got ${done} of ${bytes.length} bytes)`);
    done += bytesRead;
  }
}

function toNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new InputError(`zip offset ${value} is beyond what can be read`);
  return Number(value);
}
