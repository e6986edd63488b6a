import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { layerOfHook } from '../sae/config';
import { tidyData } from './common';

/**
 * Similar features (docs/compute.md#similar-features): for each row of A, the k rows of B with the largest cosine
 * similarity, largest first (ties: the lower index first). Rows are decoder rows W_dec[f] or encoder columns
 * W_enc[:, f]. A is taken `chunkRows` rows at a time against all of B, and only each chunk's top k is kept, so the
 * [n, m] matrix of cosines never exists: peak memory is A and B (normalised copies) and one [chunkRows, m] block
 * (and its transpose for the reverse direction).
 */

/** Row-major neighbour lists: row r's j-th neighbour is indices[r·k + j], with its cosine at the same place. */
export interface Neighbours {
  /** neighbours per row: the k asked for, fewer when B has fewer candidates */
  k: number;
  indices: Int32Array;
  cosines: Float32Array;
}

export interface CosineNeighboursOptions {
  /** neighbours per row (default 10) */
  k?: number;
  /** rows of A per block (default 1024: a [1024, 24576] float32 block is 100 MB) */
  chunkRows?: number;
  /** also B's rows' neighbours in A, from the same blocks (for two different matrices) */
  reverse?: boolean;
  /** called after each block with the rows of A done, awaited (a job reports progress and notices cancellation) */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

export interface CosineNeighbours {
  /** each row of A's neighbours in B (in A itself, itself left out, when B is omitted) */
  ofA: Neighbours;
  /** each row of B's neighbours in A, when asked for */
  ofB?: Neighbours;
}

export const DEFAULT_NEIGHBOURS = 10;
const DEFAULT_CHUNK_ROWS = 1024;
/** A zero row has cosine 0 with everything rather than NaN. */
const NORM_FLOOR = 1e-12;

/**
 * The top-k cosine neighbours of A's rows [n, d] in B's rows [m, d]; with B omitted, within A, each row's own
 * index left out. The inputs are not disposed.
 */
export async function cosineNeighbours(a: tf.Tensor2D, b: tf.Tensor2D | null, options: CosineNeighboursOptions = {}): Promise<CosineNeighbours> {
  const { k = DEFAULT_NEIGHBOURS, chunkRows = DEFAULT_CHUNK_ROWS, reverse = false, onProgress } = options;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`neighbours per row must be a positive integer, got ${k}`);
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new InputError(`rows per block must be a positive integer, got ${chunkRows}`);
  if (b && b.shape[1] !== a.shape[1]) throw new InputError(`cosine neighbours need rows of one width: [${a.shape}] and [${b.shape}]`);
  if (reverse && !b) throw new InputError('the reverse direction needs a second matrix');
  const within = !b;
  const [n, d] = a.shape;
  const m = b ? b.shape[0] : n;
  const kA = Math.min(k, within ? m - 1 : m);
  const kB = Math.min(k, n);
  const ofA: Neighbours = { k: kA, indices: new Int32Array(n * kA), cosines: new Float32Array(n * kA) };
  const ofB: Neighbours | undefined = reverse ? { k: kB, indices: new Int32Array(m * kB), cosines: new Float32Array(m * kB).fill(-Infinity) } : undefined;

  const unitRows = (x: tf.Tensor2D) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), NORM_FLOOR)) as tf.Tensor2D;
  const unitA = tf.tidy(() => unitRows(a));
  // B's unit rows as columns [d, m]: the wasm backend multiplies by a transposed operand ten times slower
  const unitBT = tf.tidy(() => tf.transpose(unitRows(b ?? a)));
  try {
    for (let start = 0; start < n; start += chunkRows) {
      const rows = Math.min(chunkRows, n - start);
      // within A the row itself is among the top k + 1 (or ties with a duplicate): taken, then dropped
      const take = Math.min(within ? kA + 1 : kA, m);
      const [values, indices, reverseValues, reverseIndices] = tidyData(() => {
        const cos = tf.matMul(tf.slice(unitA, [start, 0], [rows, d]), unitBT); // [rows, m]
        const top = tf.topk(cos, take);
        const back = ofB ? tf.topk(tf.transpose(cos), Math.min(kB, rows)) : undefined;
        return [top.values, top.indices, back?.values, back?.indices].map((t) => t?.dataSync());
      });
      for (let r = 0; r < rows; r++) {
        const self = within ? start + r : -1;
        let skipped = !within;
        for (let j = 0, out = 0; out < kA; j++) {
          const index = indices![r * take + j]!;
          // leave the row itself out; when a tie kept it past the top k + 1, the last one goes instead
          if (!skipped && (index === self || j === take - 1)) {
            skipped = true;
            continue;
          }
          ofA.indices[(start + r) * kA + out] = index;
          ofA.cosines[(start + r) * kA + out] = values![r * take + j]!;
          out++;
        }
      }
      if (ofB) mergeBlock(ofB, reverseValues as Float32Array, reverseIndices as Int32Array, Math.min(kB, rows), start);
      await onProgress?.(start + rows, n);
    }
  } finally {
    unitA.dispose();
    unitBT.dispose();
  }
  return ofB ? { ofA, ofB } : { ofA };
}

/**
 * Merges one block's top entries (A rows start.., `width` per row of B) into B's running top k. The running entries
 * come from earlier blocks, so lower A indices: on a tie they stay first, as tf.topk orders ties by index.
 */
function mergeBlock(ofB: Neighbours, values: Float32Array, indices: Int32Array, width: number, start: number): void {
  const { k } = ofB;
  const keptIndices = new Int32Array(k);
  const keptCosines = new Float32Array(k);
  for (let row = 0; row < ofB.indices.length / k; row++) {
    let i = 0;
    let j = 0;
    for (let out = 0; out < k; out++) {
      const running = ofB.cosines[row * k + i]!;
      if (j >= width || (i < k && running >= values[row * width + j]!)) {
        keptCosines[out] = running;
        keptIndices[out] = ofB.indices[row * k + i]!;
        i++;
      } else {
        keptCosines[out] = values[row * width + j]!;
        keptIndices[out] = start + indices[row * width + j]!;
        j++;
      }
    }
    ofB.cosines.set(keptCosines, row * k);
    ofB.indices.set(keptIndices, row * k);
  }
}

/**
 * SAEs ordered by how far their hook's layer is from `hookName`'s, nearest first (then the lower layer, the hook name
 * and the slug); hooks outside the blocks come last.
 */
export function nearestLayersFirst<T extends { hookName: string; slug: string }>(hookName: string, saes: T[]): T[] {
  const from = layerOfHook(hookName);
  const distance = (s: T) => {
    const layer = layerOfHook(s.hookName);
    return layer === null || from === null ? Infinity : Math.abs(layer - from);
  };
  const key = (s: T) => ({ distance: distance(s), layer: layerOfHook(s.hookName) ?? Infinity });
  return [...saes].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x.distance - y.distance || x.layer - y.layer || a.hookName.localeCompare(b.hookName) || a.slug.localeCompare(b.slug);
  });
}
