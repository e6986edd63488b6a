/**
 * Similar features: the blocked top-k cosine neighbours against a brute-force computation in float64 over every pair,
 * with blocks smaller than the matrix so that the blocking and the merging of the reverse direction are exercised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cosineNeighbours, type Neighbours } from '@/compute/analyses/similar-features';
import { initBackend } from '@/compute/backend';
import { seededRandom } from '@/compute/random';

beforeAll(async () => {
  await initBackend();
});

function randomRows(n: number, d: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => random() * 2 - 1));
}

/** Every pair's cosine in float64, sorted largest first (ties: lower index first), the row itself left out within. */
function bruteForce(a: number[][], b: number[][], k: number, within: boolean): { index: number; cosine: number }[][] {
  const norm = (x: number[]) => Math.max(Math.sqrt(x.reduce((s, v) => s + v * v, 0)), 1e-12);
  return a.map((row, i) =>
    b
      .map((other, j) => ({ index: j, cosine: row.reduce((s, v, t) => s + v * other[t]!, 0) / (norm(row) * norm(other)) }))
      .filter((c) => !within || c.index !== i)
      .sort((x, y) => y.cosine - x.cosine || x.index - y.index)
      .slice(0, k),
  );
}

function lists(n: Neighbours): { index: number; cosine: number }[][] {
  return Array.from({ length: n.indices.length / n.k }, (_, r) =>
    Array.from({ length: n.k }, (_, j) => ({ index: n.indices[r * n.k + j]!, cosine: n.cosines[r * n.k + j]! })),
  );
}

/** The same neighbours in the same order, cosines within float32 rounding. */
function expectSame(got: Neighbours, want: { index: number; cosine: number }[][]): void {
  const rows = lists(got);
  expect(rows.length).toBe(want.length);
  rows.forEach((row, r) => {
    expect(row.map((c) => c.index), `row ${r}`).toEqual(want[r]!.map((c) => c.index));
    row.forEach((c, j) => expect(c.cosine).toBeCloseTo(want[r]![j]!.cosine, 5));
  });
}

async function neighbours(a: number[][], b: number[][] | null, options: Parameters<typeof cosineNeighbours>[2]) {
  const ta = tf.tensor2d(a);
  const tb = b && tf.tensor2d(b);
  try {
    return await cosineNeighbours(ta, tb, options);
  } finally {
    ta.dispose();
    tb?.dispose();
  }
}

describe('cosineNeighbours', () => {
  it('within one matrix: each row’s k most similar other rows, in blocks smaller than the matrix', async () => {
    const a = randomRows(70, 12, 1);
    const progress: number[] = [];
    const { ofA, ofB } = await neighbours(a, null, { k: 5, chunkRows: 16, onProgress: (done) => void progress.push(done) });
    expect(ofB).toBeUndefined();
    expect(ofA.k).toBe(5);
    expectSame(ofA, bruteForce(a, a, 5, true));
    expect(progress).toEqual([16, 32, 48, 64, 70]);
  });

  it('between two matrices, and the reverse direction merged over the blocks', async () => {
    const a = randomRows(45, 8, 2);
    const b = randomRows(33, 8, 3);
    const { ofA, ofB } = await neighbours(a, b, { k: 4, chunkRows: 7, reverse: true });
    expectSame(ofA, bruteForce(a, b, 4, false));
    expectSame(ofB!, bruteForce(b, a, 4, false));
  });

  it('breaks ties by the lower index, whichever block it is in, and leaves the row itself out even among duplicates', async () => {
    // rows 0, 3, 9 and 14 are the same direction (at lengths a power of two apart, so their unit rows are equal to the bit): each one's first neighbours are the others
    const a = randomRows(20, 6, 4);
    for (const [row, scale] of [[3, 2], [9, 0.5], [14, 4]] as const) a[row] = a[0]!.map((v) => v * scale);
    const within = await neighbours(a, null, { k: 3, chunkRows: 4 });
    expect(lists(within.ofA)[9]!.map((c) => c.index)).toEqual([0, 3, 14]);
    expect(lists(within.ofA)[0]!.map((c) => c.index)).toEqual([3, 9, 14]);
    expect(lists(within.ofA)[0]!.every((c) => Math.abs(c.cosine - 1) < 1e-5)).toBe(true);

    // B's row 0 ties with A's rows 0, 3, 9 and 14, which sit in four different blocks of 4
    const { ofB } = await neighbours(a, [a[0]!], { k: 3, chunkRows: 4, reverse: true });
    expect(lists(ofB!)[0]!.map((c) => c.index)).toEqual([0, 3, 9]);
  });

  it('gives fewer neighbours than asked when there are fewer rows, and cosine 0 for a zero row', async () => {
    const a = [[1, 0], [0, 0], [1, 1]];
    const { ofA } = await neighbours(a, null, { k: 10 });
    expect(ofA.k).toBe(2);
    expect(lists(ofA)[1]!.map((c) => c.cosine)).toEqual([0, 0]);
    expect(lists(ofA)[0]![0]).toEqual({ index: 2, cosine: expect.closeTo(Math.SQRT1_2, 6) });
  });

  it('refuses rows of different widths, naming the shapes', async () => {
    await expect(neighbours([[1, 2]], [[1, 2, 3]], {})).rejects.toThrow('cosine neighbours need rows of one width: [1,2] and [1,3]');
  });
});
