import { InputError } from '../errors';
import { f16ToFloat32 } from './safetensors';

/**
 * NumPy `.npy` header: the magic "\x93NUMPY", a major and minor version, the header length (u16 in version 1, u32 in
 * 2 and 3), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2304, 16384), }` (latin-1,
 * utf-8 in version 3) padded with spaces and a newline; the array's bytes follow.
 */

export interface NpyHeader {
  /** the descr as written, one of the readable ones */
  dtype: NpyDtype;
  shape: number[];
  itemSize: number;
}

/** little-endian floats; bfloat16 has no numpy descr of its own (ml_dtypes writes it as raw void '<V2') */
export type NpyDtype = '<f4' | '<f2' | '<f8';
const ITEM_SIZE: Record<NpyDtype, number> = { '<f4': 4, '<f2': 2, '<f8': 8 };

const MAGIC = '\x93NUMPY';

/** Parses the header at the start of `bytes`; `where` names the file (and entry) in errors. */
export function parseNpyHeader(bytes: Uint8Array, where: string): { header: NpyHeader; headerLength: number } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 10 || buffer.toString('latin1', 0, 6) !== MAGIC) throw new InputError(`${where}: not a .npy array (no \\x93NUMPY magic)`);
  const major = buffer[6]!;
  if (major < 1 || major > 3) throw new InputError(`${where}: .npy format version ${major}.${buffer[7]} is not supported (1, 2 or 3)`);
  const [lengthAt, textAt] = major === 1 ? [8, 10] : [8, 12];
  const textLength = major === 1 ? buffer.readUInt16LE(lengthAt) : buffer.readUInt32LE(lengthAt);
  if (textAt + textLength > buffer.length) throw new InputError(`${where}: .npy header of ${textLength} bytes is truncated`);
  const text = buffer.toString(major === 3 ? 'utf8' : 'latin1', textAt, textAt + textLength);

  const descr = /'descr':\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined) throw new InputError(`${where}: unsupported dtype: the .npy header has no simple 'descr' (a structured array?): ${text.trim()}`);
  if (fortran === undefined || shapeText === undefined) throw new InputError(`${where}: .npy header is not a dict with 'descr', 'fortran_order' and 'shape': ${text.trim()}`);
  if (!(descr in ITEM_SIZE)) {
    throw new InputError(`${where}: unsupported dtype '${descr}'; readable are ${Object.keys(ITEM_SIZE).map((d) => `'${d}'`).join(', ')} (little-endian float32, float16, float64)`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((d) => !Number.isSafeInteger(d))) throw new InputError(`${where}: .npy shape (${shapeText}) is not a tuple of integers`);
  // a 1-D array is laid out the same either way
  if (fortran === 'True' && shape.length > 1) {
    throw new InputError(`${where}: the array is stored in Fortran (column-major) order, which is not read; save it with np.ascontiguousarray`);
  }
  const dtype = descr as NpyDtype;
  return { header: { dtype, shape, itemSize: ITEM_SIZE[dtype] }, headerLength: textAt + textLength };
}

/** Array bytes (a whole number of items) as float32; the platforms Node runs on are little-endian, as the data is. */
export function toFloat32(bytes: Uint8Array, dtype: NpyDtype): Float32Array {
  const aligned = bytes.byteOffset % ITEM_SIZE[dtype] === 0 ? bytes : bytes.slice();
  const count = aligned.byteLength / ITEM_SIZE[dtype];
  if (dtype === '<f4') return new Float32Array(aligned.buffer, aligned.byteOffset, count);
  if (dtype === '<f8') return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, count));
  return f16ToFloat32(new Uint16Array(aligned.buffer, aligned.byteOffset, count));
}
