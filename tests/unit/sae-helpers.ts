import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '@/compute/weights/safetensors';

/** Test helpers shared by the safetensors and SAE tests: temp dirs, seeded data, hand-built files. */

export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `lexicon-${prefix}-`));
}

/** mulberry32: a small seeded PRNG, so synthetic SAEs are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number, n: number, std = 1, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - random();
    const v = random();
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export type RawDtype = 'F32' | 'F16' | 'BF16' | 'I64' | string;

export interface RawTensor {
  dtype: RawDtype;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * Builds safetensors bytes by hand (any dtype, contiguous offsets). `editHeader` may rewrite the header object
 * before it is serialised, to make files whose header lies.
 */
export function rawSafetensors(tensors: Record<string, RawTensor>, editHeader?: (header: Record<string, any>) => void): Buffer {
  const header: Record<string, any> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  editHeader?.(header);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...Object.values(tensors).map((t) => Buffer.from(t.bytes))]);
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function u16Bytes(bits: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Uint16Array.from(bits).buffer);
}

/** Half-precision bits of a value that f16 represents exactly (a normal number or 0). */
export function exactF16Bits(value: number): number {
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const abs = Math.abs(value);
  const exponent = Math.floor(Math.log2(abs));
  const fraction = (abs / 2 ** exponent - 1) * 1024;
  if (exponent < -14 || exponent > 15 || !Number.isInteger(fraction)) throw new Error(`${value} is not an exact normal f16`);
  return sign | ((exponent + 15) << 10) | fraction;
}

/** bfloat16 bits of a value that bf16 represents exactly: the top half of its float32 bits. */
export function exactBf16Bits(value: number): number {
  const bits = new Uint32Array(Float32Array.of(value).buffer)[0];
  if ((bits & 0xffff) !== 0) throw new Error(`${value} is not an exact bf16`);
  return bits >>> 16;
}

/** A synthetic SAE's tensors (float32 values) by name, with their shapes. */
export type SaeTensors = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * Writes an SAELens directory: cfg.json and sae_weights.safetensors, with the tensors stored as `dtype`
 * (F16/BF16 values must be exactly representable; see `roundedTo`).
 */
export async function writeSaeDir(dir: string, cfg: object, tensors: SaeTensors, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'cfg.json'), JSON.stringify(cfg, null, 2));
  const weightsFile = path.join(dir, 'sae_weights.safetensors');
  if (dtype === 'F32') return writeSafetensors(weightsFile, tensors);
  const toBits = dtype === 'F16' ? exactF16Bits : exactBf16Bits;
  const raw: Record<string, RawTensor> = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) raw[name] = { dtype, shape, bytes: u16Bytes(Array.from(data, toBits)) };
  await fs.writeFile(weightsFile, rawSafetensors(raw));
}

/**
 * Random values on a grid that both f16 and bf16 store exactly: multiples of 1/128 in [-2, 2]
 * (at most 8 significant bits).
 */
export function gridValues(random: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.round((random() * 2 - 1) * 256) / 128) * scale;
  return out;
}
