import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '@/compute/backend';
import { useBlasMatMul } from '@/compute/blas-kernels';
import { seededRandom } from '@/compute/random';

interface Blas {
  sgemm: (...args: unknown[]) => void;
}

/** the addon itself, the very module compute/blas-kernels.ts loads (one require cache) */
const blas: Blas | undefined = (() => {
  try {
    return createRequire(import.meta.url)('@lexicon/blas') as Blas;
  } catch {
    return undefined;
  }
})();
const ABSENT = 'SKIPPED: @lexicon/blas is not built here (apt-get install libopenblas-dev, then npm install)';
if (!blas) console.warn(`[blas-kernels.test] ${ABSENT}`);

const root = path.resolve(import.meta.dirname, '../..');
const random = seededRandom(17);
const tensor = (shape: number[]) => tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => random() * 2 - 1), shape);

/**
 * `reference`'s values with the wasm backend's own matrix products, then `op`'s (by default the same) with OpenBLAS's,
 * and how often OpenBLAS ran
 */
function both(op: () => tf.Tensor, reference = op): { own: Float32Array; native: Float32Array; shape: number[]; calls: number } {
  useBlasMatMul(false);
  const own = tf.tidy(reference);
  expect(useBlasMatMul(true)).toBe(true);
  const sgemm = vi.spyOn(blas!, 'sgemm');
  const native = tf.tidy(op);
  const calls = sgemm.mock.calls.length;
  sgemm.mockRestore();
  expect(native.shape).toEqual(own.shape);
  const result = { own: own.dataSync() as Float32Array, native: native.dataSync() as Float32Array, shape: own.shape, calls };
  tf.dispose([own, native]);
  return result;
}

/** within 1e-5 of the largest value: float32 sums in another order */
function expectClose(native: Float32Array, own: Float32Array) {
  const scale = Math.max(...own.map(Math.abs));
  const worst = Math.max(...native.map((x, i) => Math.abs(x - own[i])));
  expect(worst).toBeLessThanOrEqual(1e-5 * scale);
}

describe.skipIf(!blas)(blas ? 'OpenBLAS matrix products in the wasm backend' : `OpenBLAS matrix products — ${ABSENT}`, () => {
  beforeAll(async () => {
    process.env.LEXICON_TF_BACKEND = 'wasm';
    process.env.LEXICON_BLAS = '1';
    expect(await initBackend()).toBe('wasm+blas');
  });

  afterEach(() => useBlasMatMul(true));

  const products: [string, number[], number[], boolean, boolean][] = [
    ['[5, 7] × [7, 3]', [5, 7], [7, 3], false, false],
    ['transposed a', [7, 5], [7, 3], true, false],
    ['transposed b', [5, 7], [3, 7], false, true],
    ['both transposed', [7, 5], [3, 7], true, true],
    ['a batch of 4 by a batch of 4', [4, 5, 7], [4, 7, 3], false, false],
    ['batches, both transposed', [4, 7, 5], [4, 3, 7], true, true],
    ['one a over a batch of b', [1, 5, 7], [4, 7, 3], false, false],
    ['a batch of a over one b', [4, 5, 7], [1, 7, 3], false, false],
    ['a batch of transposed a over one b', [4, 7, 5], [7, 3], true, false],
    ['[3, 5, 7] × [7, 2]', [3, 5, 7], [7, 2], false, false],
    ['batch dims [2, 3] on both sides', [2, 3, 5, 7], [2, 3, 4, 7], false, true],
    ['batch dims [2, 3] by a matrix', [2, 3, 5, 7], [4, 7], false, true],
    ['larger than a block', [65, 300], [300, 130], false, false],
  ];
  for (const [name, shapeA, shapeB, transposeA, transposeB] of products) {
    it(`matMul, ${name}: OpenBLAS ran and agrees with the wasm kernel`, () => {
      const [a, b] = [tensor(shapeA), tensor(shapeB)];
      const { own, native, calls } = both(() => tf.matMul(a, b, transposeA, transposeB));
      expect(calls).toBe(1);
      expectClose(native, own);
      tf.dispose([a, b]);
    });
  }

  const fused: [string, number[], number[], boolean, boolean, boolean, 'linear' | 'relu'][] = [
    ['a bias', [5, 7], [7, 3], false, false, true, 'linear'],
    ['relu', [5, 7], [7, 3], false, false, false, 'relu'],
    ['a bias and relu, transposed b', [5, 7], [3, 7], false, true, true, 'relu'],
    ['a bias and relu, transposed a', [7, 5], [7, 3], true, false, true, 'relu'],
    ['a bias and relu on [3, 5, 7] × [7, 2]', [3, 5, 7], [7, 2], false, false, true, 'relu'],
    ['a bias on batches', [4, 5, 7], [4, 7, 3], false, false, true, 'linear'],
  ];
  // against the wasm kernels' matMul, then add, then relu: the wasm backend's own fused kernel adds the bias wrongly to
  // a transposed or batched product (tfjs-backend-wasm 4.22: each row after the first gets the bias's last value)
  for (const [name, shapeA, shapeB, transposeA, transposeB, withBias, activation] of fused) {
    it(`fused matMul, ${name}: OpenBLAS ran and agrees with the wasm kernels' matMul, add, relu`, () => {
      const [a, b] = [tensor(shapeA), tensor(shapeB)];
      const bias = withBias ? tensor([shapeB[transposeB ? shapeB.length - 2 : shapeB.length - 1]]) : undefined;
      const unfused = () => {
        const product = tf.matMul(a, b, transposeA, transposeB);
        const biased = bias ? tf.add(product, bias) : product;
        return activation === 'relu' ? tf.relu(biased) : biased;
      };
      const { own, native, calls } = both(() => tf.fused.matMul({ a, b, transposeA, transposeB, bias, activation }), unfused);
      expect(calls).toBe(1);
      expectClose(native, own);
      if (activation === 'relu') expect(native.some((x) => x === 0)).toBe(true);
      tf.dispose([a, b, ...(bias ? [bias] : [])]);
    });
  }

  it('leaves what it does not cover to the wasm kernel: another activation, a bias broadcast from one value', () => {
    const [a, b, one] = [tensor([5, 7]), tensor([7, 3]), tensor([1])];
    for (const op of [() => tf.fused.matMul({ a, b, activation: 'elu' }), () => tf.fused.matMul({ a, b, bias: one })]) {
      const { own, native, calls } = both(op);
      expect(calls).toBe(0);
      expect(native).toEqual(own);
    }
    tf.dispose([a, b, one]);
  });

  it('throws a RangeError naming the operand that lies outside the memory, before touching it', () => {
    const memory = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] into the last four floats
    blas!.sgemm(memory.buffer, false, false, 2, 2, 2, 0, 16, 32, 1, 0, 0, -1, false);
    expect(Array.from(memory.slice(8))).toEqual([19, 22, 43, 50]);
    const call = (a: number, c: number, batch = 1, strideA = 0) => () => blas!.sgemm(memory.buffer, false, false, 2, 2, 2, a, 16, c, batch, strideA, 0, -1, false);
    expect(call(0, 40)).toThrow(new RangeError('sgemm: c (4 floats at byte offset 40) lies outside the 48-byte memory or is not 4-byte aligned'));
    expect(call(0, 2)).toThrow(/c \(4 floats at byte offset 2\) .* not 4-byte aligned/);
    expect(call(0, 32, 2, 9)).toThrow(/a \(13 floats at byte offset 0\) lies outside the 48-byte memory/);
    expect(call(-4, 32)).toThrow(/a must be an integer in \[0, \d+\], got -4/);
    expect(() => blas!.sgemm(memory, false, false, 2, 2, 2, 0, 16, 32, 1, 0, 0, -1, false)).toThrow(new TypeError('sgemm: memory must be an ArrayBuffer'));
    expect(Array.from(memory.slice(8))).toEqual([19, 22, 43, 50]);
  });

  it('only LEXICON_BLAS=1 puts them in, and the backend says which ran', () => {
    // K = 300 sums in another order give other low bits: which kernel ran shows in the values
    const { own, native } = both(() => tf.matMul(tf.sin(tf.reshape(tf.range(0, 3000), [10, 300])), tf.cos(tf.reshape(tf.range(0, 1500), [300, 5]))));
    expect(native).not.toEqual(own);
    const script = `import * as tf from '@tensorflow/tfjs-core';
      import { initBackend } from './compute/backend';
      const backend = await initBackend();
      const values = tf.matMul(tf.sin(tf.reshape(tf.range(0, 3000), [10, 300])), tf.cos(tf.reshape(tf.range(0, 1500), [300, 5]))).dataSync();
      console.log(JSON.stringify({ backend, values: Array.from(values) }));`;
    const run = (env: Record<string, string>) => {
      const child = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, LEXICON_TF_BACKEND: 'wasm', LEXICON_QUIET_BACKEND: '0', ...env },
      });
      expect(child.status, child.stderr).toBe(0);
      return { ...(JSON.parse(child.stdout) as { backend: string; values: number[] }), stderr: child.stderr };
    };
    const off = run({ LEXICON_BLAS: '' });
    expect(off.backend).toBe('wasm');
    expect(off.stderr).toContain('[worker] tfjs backend: wasm\n');
    expect(Float32Array.from(off.values)).toEqual(own);
    const on = run({ LEXICON_BLAS: '1' });
    expect(on.backend).toBe('wasm+blas');
    expect(on.stderr).toContain('[worker] tfjs backend: wasm + OpenBLAS matmul\n');
    expect(Float32Array.from(on.values)).toEqual(native);
  });
});
