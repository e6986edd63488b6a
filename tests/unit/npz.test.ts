/**
 * `.npz` / `.npy` reading (compute/weights/npz.ts, npy.ts): archives the test writes from the format specifications
 * (stored, deflated, zip64), archives numpy itself writes, and the Gemma Scope params.npz read as an SAE.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { gemmaScopeCfg } from '@/compute/sae/gemma-scope';
import { loadSae } from '@/compute/sae/load';
import { readNpz, readNpzHeader } from '@/compute/weights/npz';
import { writeSafetensors } from '@/compute/weights/safetensors';
import { f32, f64, npyBytes, writeNpz } from '../helpers/npz-writer';
import { gaussian, makeTempDir, seededRandom } from './sae-helpers';

let dir: string;
const file = (name: string) => path.join(dir, name);
const range = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => (i - n / 2) * scale);

beforeAll(async () => {
  dir = await makeTempDir('npz');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('npz written from the specification', () => {
  const arrays = {
    W: f32([3, 4], range(12, 0.25)),
    b: f64([5], range(5, 1.5)),
    // float16 1.5, -2, 65504 (the largest), 2^-24 (the smallest subnormal)
    h: { descr: '<f2', shape: [4], bytes: new Uint8Array(new Uint16Array([0x3e00, 0xc000, 0x7bff, 0x0001]).buffer) },
    scalar: f32([], [7]),
  };
  const expectArrays = async (npz: string) => {
    const read = await readNpz(npz);
    expect([...read.keys()]).toEqual(['W', 'b', 'h', 'scalar']);
    expect(read.get('W')).toEqual({ dtype: '<f4', shape: [3, 4], data: Float32Array.from(range(12, 0.25)) });
    expect(read.get('b')).toEqual({ dtype: '<f8', shape: [5], data: Float32Array.from(range(5, 1.5)) });
    expect([...read.get('h')!.data]).toEqual([1.5, -2, 65504, 2 ** -24]);
    expect(read.get('scalar')!.shape).toEqual([]);
    expect([...read.get('scalar')!.data]).toEqual([7]);
  };

  it('reads stored entries, and lists names, dtypes and shapes without reading the data', async () => {
    writeNpz(file('stored.npz'), arrays);
    await expectArrays(file('stored.npz'));
    const header = await readNpzHeader(file('stored.npz'));
    expect(header.get('W')).toEqual({ name: 'W', dtype: '<f4', shape: [3, 4], itemSize: 4 });
    expect(header.get('b')).toMatchObject({ dtype: '<f8', shape: [5] });
  });

  it('reads deflated entries (np.savez_compressed)', async () => {
    writeNpz(file('deflated.npz'), arrays, { compress: true });
    await expectArrays(file('deflated.npz'));
  });

  it('reads zip64 records, as numpy writes them for every entry', async () => {
    writeNpz(file('zip64.npz'), arrays, { zip64: true });
    await expectArrays(file('zip64.npz'));
    writeNpz(file('zip64-deflated.npz'), arrays, { zip64: true, compress: true });
    await expectArrays(file('zip64-deflated.npz'));
  });

  it('inflates a large array whose values straddle the inflater chunks', async () => {
    // an odd header length puts the chunk boundaries inside float64 values
    const values = gaussian(seededRandom(1), 30_001);
    writeNpz(file('large.npz'), { x: f64([30_001], values), y: f32([30_001], values) }, { compress: true, align: 3 });
    const read = await readNpz(file('large.npz'));
    expect(read.get('x')!.data).toEqual(values);
    expect(read.get('y')!.data).toEqual(values);
  });
});

describe('bad npz input names the file and entry', () => {
  it('refuses a file that is not a zip archive', async () => {
    fs.writeFileSync(file('not-zip.npz'), Buffer.from('PK this is not an archive'));
    await expect(readNpz(file('not-zip.npz'))).rejects.toThrow(`${file('not-zip.npz')}: not an npz file (no zip end-of-central-directory record)`);
    await expect(readNpz(file('absent.npz'))).rejects.toThrow(`${file('absent.npz')}: file not found`);
  });

  it('names a missing array and what the archive holds', async () => {
    writeNpz(file('two.npz'), { W_enc: f32([2], [1, 2]), b_enc: f32([2], [3, 4]) });
    await expect(readNpz(file('two.npz'), ['threshold'])).rejects.toThrow(`${file('two.npz')}: no array "threshold" (entry threshold.npy); the archive holds W_enc, b_enc`);
  });

  it('refuses an unsupported dtype, Fortran order, and a shape the entry does not hold', async () => {
    writeNpz(file('int.npz'), { ids: { descr: '<i4', shape: [2], bytes: new Uint8Array(8) } });
    await expect(readNpz(file('int.npz'))).rejects.toThrow(`${file('int.npz')}: entry "ids.npy": unsupported dtype '<i4'; readable are '<f4', '<f2', '<f8'`);
    writeNpz(file('big-endian.npz'), { x: { descr: '>f4', shape: [1], bytes: new Uint8Array(4) } });
    await expect(readNpz(file('big-endian.npz'))).rejects.toThrow(/unsupported dtype '>f4'/);

    writeNpz(file('fortran.npz'), { W: { ...f32([2, 2], [1, 2, 3, 4]), fortranOrder: true } });
    await expect(readNpz(file('fortran.npz'))).rejects.toThrow(`${file('fortran.npz')}: entry "W.npy": the array is stored in Fortran (column-major) order`);
    // a 1-D array is the same in either order
    writeNpz(file('fortran-1d.npz'), { b: { ...f32([2], [1, 2]), fortranOrder: true } });
    expect([...(await readNpz(file('fortran-1d.npz'))).get('b')!.data]).toEqual([1, 2]);

    writeNpz(file('short.npz'), { W: { ...f32([2, 3], [1, 2, 3, 4]) } });
    await expect(readNpz(file('short.npz'))).rejects.toThrow(`${file('short.npz')}: entry "W.npy": shape [2, 3] of <f4 needs 24 bytes after the header, the entry holds 16`);
  });

  it('refuses a corrupt entry and a truncated archive', async () => {
    const npy = npyBytes(f32([4], [1, 2, 3, 4]));
    writeNpz(file('crc.npz'), { x: npy });
    const bytes = fs.readFileSync(file('crc.npz'));
    bytes[30 + 'x.npy'.length + npy.length - 1] ^= 0xff; // the last data byte
    fs.writeFileSync(file('crc.npz'), bytes);
    await expect(readNpz(file('crc.npz'))).rejects.toThrow(`${file('crc.npz')}: entry "x.npy": CRC-32 mismatch`);

    fs.writeFileSync(file('no-npy.npz'), Buffer.alloc(0));
    writeNpz(file('no-npy.npz'), { x: Buffer.from('not an array') });
    await expect(readNpz(file('no-npy.npz'))).rejects.toThrow(`${file('no-npy.npz')}: entry "x.npy": not a .npy array`);

    writeNpz(file('cut.npz'), { x: f32([1000], range(1000)) }, { compress: true });
    fs.writeFileSync(file('cut.npz'), fs.readFileSync(file('cut.npz')).subarray(200));
    await expect(readNpz(file('cut.npz'))).rejects.toThrow(file('cut.npz'));
  });
});

const numpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!numpy)('npz written by numpy (skipped only where python3 with numpy is absent)', () => {
  it('reads np.savez and np.savez_compressed archives, every float dtype, and refuses what numpy can write but we do not read', async () => {
    const script = `
import numpy as np, sys
W = (np.arange(24, dtype=np.float64).reshape(4, 6) - 12) / 8
arrays = dict(W_enc=W.astype(np.float32), b=np.linspace(-1, 1, 7), h=np.array([0.5, -3, 1024], dtype=np.float16))
np.savez(sys.argv[1], **arrays)
np.savez_compressed(sys.argv[2], **arrays)
np.savez(sys.argv[3], F=np.asfortranarray(W.astype(np.float32)), i=np.arange(3))
`;
    execFileSync('python3', ['-c', script, file('np.npz'), file('np-compressed.npz'), file('np-bad.npz')]);
    for (const npz of [file('np.npz'), file('np-compressed.npz')]) {
      const read = await readNpz(npz);
      expect(read.get('W_enc')).toEqual({ dtype: '<f4', shape: [4, 6], data: Float32Array.from(range(24), (v) => (v + 12 - 12) / 8) });
      expect(read.get('b')!.dtype).toBe('<f8');
      expect([...read.get('b')!.data].map((v) => Number(v.toFixed(6)))).toEqual([-1, -0.666667, -0.333333, 0, 0.333333, 0.666667, 1]);
      expect(read.get('h')).toEqual({ dtype: '<f2', shape: [3], data: Float32Array.from([0.5, -3, 1024]) });
    }
    await expect(readNpz(file('np-bad.npz'), ['F'])).rejects.toThrow(/entry "F.npy": the array is stored in Fortran \(column-major\) order/);
    await expect(readNpz(file('np-bad.npz'), ['i'])).rejects.toThrow(/entry "i.npy": unsupported dtype '<i8'/);
  });
});

describe('Gemma Scope params.npz as an SAE', () => {
  const dIn = 8;
  const dSae = 16;
  const random = seededRandom(7);
  const weights = {
    W_enc: { shape: [dIn, dSae], data: gaussian(random, dIn * dSae) },
    W_dec: { shape: [dSae, dIn], data: gaussian(random, dSae * dIn) },
    b_enc: { shape: [dSae], data: gaussian(random, dSae, 0.1) },
    b_dec: { shape: [dIn], data: gaussian(random, dIn, 0.1) },
    threshold: { shape: [dSae], data: Float32Array.from(gaussian(random, dSae, 0.3), Math.abs) },
  };
  const releaseCfg = { architecture: 'jumprelu', hook_name: 'blocks.2.hook_resid_post', apply_b_dec_to_input: false, normalize_activations: 'none' };

  it('loads as the same JumpReLU SAE as its SAELens directory, with d_in and d_sae from W_enc', async () => {
    const gemma = file('gemma');
    const saelens = file('saelens');
    fs.mkdirSync(gemma);
    fs.mkdirSync(saelens);
    writeNpz(path.join(gemma, 'params.npz'), Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, f32(v.shape, v.data)])), { zip64: true });
    const cfg = await gemmaScopeCfg(path.join(gemma, 'params.npz'), releaseCfg, dSae);
    expect(cfg).toEqual({ ...releaseCfg, d_in: dIn, d_sae: dSae });
    fs.writeFileSync(path.join(gemma, 'cfg.json'), JSON.stringify(cfg));
    fs.writeFileSync(path.join(saelens, 'cfg.json'), JSON.stringify(cfg));
    await writeSafetensors(path.join(saelens, 'sae_weights.safetensors'), weights);

    await initBackend();
    const [a, b] = [await loadSae(gemma), await loadSae(saelens)];
    expect(a.cfg.architecture).toBe('jumprelu');
    const x = tf.tensor2d(gaussian(seededRandom(3), 5 * dIn, 2), [5, dIn]);
    const [actsA, actsB] = [a.encode(x), b.encode(x)];
    expect(await actsA.data()).toEqual(await actsB.data());
    // some features fire and some stay under their threshold, so the threshold was read
    const acts = await actsA.data();
    expect(acts.some((v) => v > 0) && acts.some((v) => v === 0)).toBe(true);
    tf.dispose([x, actsA, actsB]);
    a.dispose();
    b.dispose();
  });

  it('refuses a width that is not the folder\'s, and a tensor of the wrong shape', async () => {
    await expect(gemmaScopeCfg(path.join(file('gemma'), 'params.npz'), releaseCfg, 16384)).rejects.toThrow(
      `${path.join(file('gemma'), 'params.npz')}: W_enc has shape [8, 16], but the folder's width is 16384 features`,
    );
    const bad = file('gemma-bad');
    fs.mkdirSync(bad);
    writeNpz(path.join(bad, 'params.npz'), { ...Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, f32(v.shape, v.data)])), threshold: f32([dSae - 1], weights.threshold.data.subarray(1)) });
    fs.writeFileSync(path.join(bad, 'cfg.json'), JSON.stringify({ ...releaseCfg, d_in: dIn, d_sae: dSae }));
    await expect(loadSae(bad)).rejects.toThrow(`${path.join(bad, 'params.npz')}: tensor "threshold" has shape [15], expected [d_sae] = [16] from cfg.json`);
  });
});
