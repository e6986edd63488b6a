/**
 * OpenBLAS's matrix products in place of the wasm backend's own. tfjs-wasm multiplies with XNNPACK in 128-bit SIMD
 * without FMA, 16–22 GFLOP/s on one thread here, where OpenBLAS's AVX2 FMA kernels reach 60–80; matrix
 * products are most of a forward pass and of an SAE encode. The optional addon @lexicon/blas (compute/blas, built by
 * `npm install` where OpenBLAS is installed) runs cblas_sgemm on the wasm heap itself, so operands and output stay
 * where the backend keeps them. What it does not cover (other dtypes, activations other than linear and relu, prelu
 * weights, a bias other than one per output column, batch shapes broadcast on both sides, empty operands) goes to the
 * backend's own kernel. `LEXICON_BLAS=1` puts them in (compute/backend.ts says why it is not the default).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** compute/blas/blas.c says what each argument is */
interface Blas {
  sgemm(
    memory: ArrayBuffer,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    batch: number,
    strideA: number,
    strideB: number,
    bias: number,
    relu: boolean,
  ): void;
}

const KERNELS = [tf.BatchMatMul, tf._FusedMatMul];

/** the wasm backend's own kernels, kept the first time ours replace them */
const wasmKernels = new Map<string, tf.KernelConfig>();

/**
 * Puts OpenBLAS's matrix products in the wasm backend (on) or its own back (off), and returns whether OpenBLAS's are
 * in: false when the addon is not installed, or when the heap is shared memory (threaded wasm), which it does not take.
 */
export function useBlasMatMul(on: boolean): boolean {
  const backend = tf.findBackend('wasm') as BackendWasm | null;
  if (!backend) throw new Error('useBlasMatMul: the wasm backend is not initialised');
  const blas = on && backend.wasm.HEAPF32.buffer instanceof ArrayBuffer ? loadBlas() : undefined;
  for (const name of KERNELS) {
    if (!wasmKernels.has(name)) wasmKernels.set(name, tf.getKernel(name, 'wasm'));
    const own = wasmKernels.get(name)!;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(blas ? { ...own, kernelFunc: (name === tf.BatchMatMul ? batchMatMul : fusedMatMul)(blas, own.kernelFunc) } : own);
  }
  return blas !== undefined;
}

function loadBlas(): Blas | undefined {
  try {
    return createRequire(import.meta.url)('@lexicon/blas') as Blas;
  } catch (err) {
    // not installed (no OpenBLAS when `npm install` ran) is expected; a build that fails to load is worth a line
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') {
      console.error(`[worker] @lexicon/blas did not load, the wasm backend multiplies on its own: ${(err as Error).message}`);
    }
    return undefined;
  }
}

function batchMatMul(blas: Blas, own: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as tf.BatchMatMulInputs;
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    return product(blas, args.backend as BackendWasm, a!, b!, transposeA, transposeB) ?? own(args);
  };
}

function fusedMatMul(blas: Blas, own: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as tf._FusedMatMulInputs;
    const { transposeA, transposeB, activation } = args.attrs as unknown as tf._FusedMatMulAttrs;
    if (preluActivationWeights || (activation !== 'linear' && activation !== 'relu')) return own(args);
    return product(blas, args.backend as BackendWasm, a, b, transposeA, transposeB, bias, activation === 'relu') ?? own(args);
  };
}

/** op(a) · op(b) [+ bias] [relu] over the batch dims, by OpenBLAS; undefined where the backend's own kernel must do it. */
function product(
  blas: Blas,
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: tf.TensorInfo,
  relu = false,
): tf.TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const [rowsA, colsA] = a.shape.slice(-2);
  const [rowsB, colsB] = b.shape.slice(-2);
  const [m, k] = transposeA ? [colsA, rowsA] : [rowsA, colsA];
  const [kB, n] = transposeB ? [colsB, rowsB] : [rowsB, colsB];
  // mismatched inner dims: the backend's kernel throws tfjs's own error
  if (k !== kB) return undefined;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return undefined;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(batchShape);
  // each side's batch is the output's, or one matrix repeated over it (stride 0): what one stride per side can say
  if (batch !== Math.max(batchA, batchB) || (batchA !== batchB && Math.min(batchA, batchB) !== 1)) return undefined;
  if (m * n * k * batch === 0) return undefined;

  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  // a batch of untransposed a's times one b is one taller product: OpenBLAS is faster on one big matrix than many small
  const fold = batchB === 1 && !transposeA;
  // the heap's ArrayBuffer is replaced whenever the heap grows (makeOutput may just have grown it): take it now
  blas.sgemm(
    backend.wasm.HEAPF32.buffer as ArrayBuffer,
    transposeA,
    transposeB,
    fold ? batch * m : m,
    n,
    k,
    offset(a),
    offset(b),
    offset(out),
    fold ? 1 : batch,
    batchA === 1 ? 0 : m * k,
    batchB === 1 ? 0 : k * n,
    bias ? offset(bias) : -1,
    relu,
  );
  return out;
}
