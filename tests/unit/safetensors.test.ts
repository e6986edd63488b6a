import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@/compute/errors';
import { readSafetensors, readSafetensorsHeader, readShardedSafetensors, writeSafetensors } from '@/compute/weights/safetensors';
import { FIXTURES_DIR } from '../shared';
import { f32Bytes, makeTempDir, rawSafetensors, u16Bytes, type RawTensor } from './sae-helpers';

let tmp: string;
beforeAll(async () => {
  tmp = await makeTempDir('safetensors');
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

async function writeRaw(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(tmp, name);
  await fs.writeFile(file, bytes);
  return file;
}

const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'F32', shape, bytes: f32Bytes(values) });

describe('reading', () => {
  it('round-trips writeSafetensors with metadata, 8-byte aligned data', async () => {
    const file = path.join(tmp, 'roundtrip.safetensors');
    const a = Float32Array.from([1.5, -2, 3.25, 0, 1e-30, -7]);
    const b = Float32Array.from([42]);
    await writeSafetensors(file, { a: { shape: [2, 3], data: a }, b: { shape: [1], data: b } }, { format: 'pt' });

    const header = await readSafetensorsHeader(file);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.dataStart % 8).toBe(0);
    expect(header.tensors.get('a')).toEqual({ dtype: 'F32', shape: [2, 3], dataOffsets: [0, 24] });

    const tensors = await readSafetensors(file);
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(tensors.get('a')).toEqual({ dtype: 'F32', shape: [2, 3], data: a });
    expect(tensors.get('b')!.data).toEqual(b);
    // no temporary file is left beside it
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith('roundtrip'))).toEqual(['roundtrip.safetensors']);
  });

  it('decodes F16 (incl. subnormal, ±Inf, NaN) and BF16 to float32', async () => {
    const f16Bits = [0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x3555, 0x8000];
    const bf16Bits = [0x3f80, 0xc0a0, 0x7f80, 0x3eab, 0x0001];
    const file = await writeRaw(
      'halves.safetensors',
      rawSafetensors({
        h: { dtype: 'F16', shape: [3, 3], bytes: u16Bytes(f16Bits) },
        b: { dtype: 'BF16', shape: [5], bytes: u16Bytes(bf16Bits) },
      }),
    );
    const tensors = await readSafetensors(file);
    expect(tensors.get('h')!.dtype).toBe('F16');
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, -2, 2 ** -24, 65504, Infinity, -Infinity, NaN, 0.333251953125, -0]);
    expect(tensors.get('b')!.dtype).toBe('BF16');
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -5, Infinity, 0.333984375, Math.fround(2 ** -133)]);
  });

  it('reads only the selected tensors, so an unreadable dtype elsewhere does not matter', async () => {
    const file = await writeRaw(
      'mixed.safetensors',
      rawSafetensors({
        steps: { dtype: 'I64', shape: [2], bytes: new Uint8Array(16) },
        w: f32([2], [1, 2]),
      }),
    );
    const only = await readSafetensors(file, { only: (name) => name === 'w' });
    expect([...only.keys()]).toEqual(['w']);
    await expect(readSafetensors(file)).rejects.toThrow(`${file}: tensor "steps" has dtype I64; only F32, F16 and BF16 are supported`);
  });

  it('reads the fixture SAE file', async () => {
    const file = path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard', 'sae_weights.safetensors');
    const header = await readSafetensorsHeader(file);
    expect(Object.fromEntries([...header.tensors].map(([name, t]) => [name, t.shape]))).toEqual({
      W_enc: [64, 256], W_dec: [256, 64], b_enc: [256], b_dec: [64],
    });
    const { data } = (await readSafetensors(file, { only: (n) => n === 'W_dec' })).get('W_dec')!;
    // decoder rows have unit norm
    expect(Math.hypot(...data.subarray(0, 64))).toBeCloseTo(1, 5);
  });
});

describe('sharded checkpoints', () => {
  it('follows model.safetensors.index.json to the shards', async () => {
    const dir = path.join(tmp, 'sharded');
    await fs.mkdir(dir);
    await writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), { 'wte.weight': { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } });
    await writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), {
      'ln_f.weight': { shape: [2], data: Float32Array.from([5, 6]) },
      'ln_f.bias': { shape: [2], data: Float32Array.from([7, 8]) },
    });
    const index = {
      metadata: { total_size: 32 },
      weight_map: { 'wte.weight': 'model-00001-of-00002.safetensors', 'ln_f.weight': 'model-00002-of-00002.safetensors', 'ln_f.bias': 'model-00002-of-00002.safetensors' },
    };
    await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));

    const all = await readShardedSafetensors(dir);
    expect(Object.fromEntries([...all].map(([n, t]) => [n, Array.from(t.data)]))).toEqual({
      'wte.weight': [1, 2, 3, 4], 'ln_f.weight': [5, 6], 'ln_f.bias': [7, 8],
    });
    const some = await readShardedSafetensors(dir, { only: (n) => n.startsWith('ln_f') });
    expect([...some.keys()].sort()).toEqual(['ln_f.bias', 'ln_f.weight']);
  });

  it('reads a single model.safetensors', async () => {
    const dir = path.join(tmp, 'single');
    await fs.mkdir(dir);
    await writeSafetensors(path.join(dir, 'model.safetensors'), { x: { shape: [1], data: Float32Array.from([9]) } });
    expect(Array.from((await readShardedSafetensors(dir)).get('x')!.data)).toEqual([9]);
  });

  it('rejects a missing checkpoint, a shard without its tensor, and shard paths outside the directory', async () => {
    const dir = path.join(tmp, 'bad-shards');
    await fs.mkdir(dir);
    await expect(readShardedSafetensors(dir)).rejects.toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json exists/);

    await writeSafetensors(path.join(dir, 'a.safetensors'), { x: { shape: [1], data: Float32Array.from([1]) } });
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    await fs.writeFile(indexFile, JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }));
    await expect(readShardedSafetensors(dir)).rejects.toThrow(`${indexFile}: tensor "y" is mapped to a.safetensors, which does not contain it`);

    await fs.writeFile(indexFile, JSON.stringify({ weight_map: { x: '../elsewhere.safetensors' } }));
    await expect(readShardedSafetensors(dir)).rejects.toThrow(/tensor "x" maps to "\.\.\/elsewhere\.safetensors", not a shard file name/);

    await fs.writeFile(indexFile, '{"weight_map": ');
    await expect(readShardedSafetensors(dir)).rejects.toThrow(/model\.safetensors\.index\.json: not valid JSON/);
  });
});

describe('malformed files are InputErrors naming the file and the tensor', () => {
  const good = () => rawSafetensors({ W_enc: f32([2, 2], [1, 2, 3, 4]), b_enc: f32([2], [5, 6]) });

  async function expectInputError(name: string, bytes: Uint8Array, message: RegExp | string): Promise<void> {
    const file = await writeRaw(name, bytes);
    const error = await readSafetensors(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(file);
    if (typeof message === 'string') expect((error as Error).message).toContain(message);
    else expect((error as Error).message).toMatch(message);
  }

  it('a file shorter than 8 bytes', () => expectInputError('tiny.safetensors', new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/));

  it('a header length beyond the end of the file', () => {
    const bytes = good();
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
    return expectInputError('long-header.safetensors', bytes, /header length \d+ runs past the end of the file/);
  });

  it('a header that is not JSON', () => {
    const bytes = good();
    bytes.write('#', 8);
    return expectInputError('bad-json.safetensors', bytes, /header is not valid JSON/);
  });

  it('truncated data', () => {
    const bytes = good();
    return expectInputError('truncated.safetensors', bytes.subarray(0, bytes.length - 3), 'tensor "b_enc": data_offsets [16, 24] run past the data section (21 bytes); the file is truncated');
  });

  it('a header that lies about a tensor size', () =>
    expectInputError(
      'lying.safetensors',
      rawSafetensors({ W_enc: f32([2, 2], [1, 2, 3, 4]) }, (h) => (h.W_enc.shape = [2, 3])),
      'tensor "W_enc": data_offsets [0, 16] span 16 bytes but shape [2,3] of F32 needs 24',
    ));

  it('overlapping tensors', () =>
    expectInputError(
      'overlap.safetensors',
      rawSafetensors({ W_enc: f32([2, 2], [1, 2, 3, 4]), b_enc: f32([2], [5, 6]) }, (h) => (h.b_enc.data_offsets = [8, 16])),
      'tensors "W_enc" [0,16] and "b_enc" [8,16] have overlapping data_offsets',
    ));

  it('malformed data_offsets and shapes', async () => {
    await expectInputError('offsets.safetensors', rawSafetensors({ b: f32([2], [1, 2]) }, (h) => (h.b.data_offsets = [8])), 'tensor "b": data_offsets must be [begin, end]');
    await expectInputError('reversed.safetensors', rawSafetensors({ b: f32([2], [1, 2]) }, (h) => (h.b.data_offsets = [8, 0])), 'tensor "b": data_offsets [8, 0] end before they begin');
    await expectInputError('shape.safetensors', rawSafetensors({ b: f32([2], [1, 2]) }, (h) => (h.b.shape = [-2])), 'tensor "b": shape must be a list of non-negative integers');
  });

  it('an unsupported dtype, named', () =>
    expectInputError('int64.safetensors', rawSafetensors({ positions: { dtype: 'I64', shape: [2], bytes: new Uint8Array(16) } }), 'tensor "positions" has dtype I64'));

  it('an unknown dtype, named', () =>
    expectInputError('q4.safetensors', rawSafetensors({ w: { dtype: 'Q4_0', shape: [2], bytes: new Uint8Array(1) } }), 'tensor "w": unknown dtype "Q4_0"'));

  it('a missing file', async () => {
    await expect(readSafetensors(path.join(tmp, 'nope.safetensors'))).rejects.toThrow(/nope\.safetensors: file not found/);
  });
});
