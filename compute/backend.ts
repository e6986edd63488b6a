import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBlasMatMul } from './blas-kernels';

/** The backends we try, fastest first. `LEXICON_TF_BACKEND` may name one of them to force it. */
const BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
/**
 * What computes, as results' provenance and the worker's heartbeat record it: the backend's name, or 'wasm+blas' when
 * OpenBLAS does the wasm backend's matrix products (`LEXICON_BLAS=1`, compute/blas-kernels.ts).
 */
export type ComputeBackend = BackendName | 'wasm+blas';

let chosen: Promise<ComputeBackend> | undefined;

/**
 * Picks the TensorFlow.js backend once per process and returns what computes; later calls return the same.
 * Optional native packages are imported dynamically, so their absence only means the next one is tried.
 */
export function initBackend(): Promise<ComputeBackend> {
  chosen ??= choose().catch((err) => {
    chosen = undefined; // a failed forced choice may be retried after fixing the environment
    throw err;
  });
  return chosen;
}

async function choose(): Promise<ComputeBackend> {
  const forced = process.env.LEXICON_TF_BACKEND?.trim();
  if (forced) {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw new Error(`LEXICON_TF_BACKEND=${forced} is not one of ${BACKENDS.join(', ')}`);
    }
    return report(await activate(forced as BackendName));
  }
  for (const name of BACKENDS) {
    try {
      return report(await activate(name));
    } catch {
      // not installed or failed to load (e.g. no CUDA): fall through to the next one
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}

async function activate(name: BackendName): Promise<ComputeBackend> {
  switch (name) {
    case 'node-gpu':
    case 'node': {
      // Both packages register the native backend under the name 'tensorflow'.
      // The specifier is a variable so TypeScript does not require the optional package's types.
      const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await import(pkg);
      await setBackend('tensorflow');
      return name;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // In Node the .wasm binaries are read from disk: point at the installed package's dist folder.
      const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(path.dirname(main) + path.sep);
      // The Emscripten runtime installs process-wide handlers that rethrow every uncaught error from
      // inside its minified bundle, so a crash would print kilobytes of code instead of the error.
      const uncaught = process.listeners('uncaughtException');
      const unhandled = process.listeners('unhandledRejection');
      await setBackend('wasm');
      for (const l of process.listeners('uncaughtException')) if (!uncaught.includes(l)) process.off('uncaughtException', l);
      for (const l of process.listeners('unhandledRejection')) if (!unhandled.includes(l)) process.off('unhandledRejection', l);
      return process.env.LEXICON_BLAS?.trim() === '1' && blasMatMul() ? 'wasm+blas' : 'wasm';
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      await setBackend('cpu');
      return name;
  }
}

/**
 * Opted into, not the default: OpenBLAS's sum for an element depends on the product's shape (which of its kernels
 * computes that tile), so a row's values change with the rows and columns computed beside it, where dashboards rely on
 * the wasm kernels' values being the same in any feature chunk or corpus range, bit for bit.
 */
function blasMatMul(): boolean {
  if (useBlasMatMul(true)) return true;
  console.error('[worker] LEXICON_BLAS=1, but @lexicon/blas is not installed (apt-get install libopenblas-dev, then npm install): wasm multiplies on its own');
  return false;
}

async function setBackend(tfName: string): Promise<void> {
  if (!(await tf.setBackend(tfName))) throw new Error(`tfjs backend ${tfName} failed to initialise`);
  await tf.ready();
}

function report(backend: ComputeBackend): ComputeBackend {
  // stderr, so that commands printing JSON on stdout stay parseable; not under `npm start`, whose worker names its
  // backend in its "ready" line (LEXICON_QUIET_BACKEND)
  const line = backend === 'wasm+blas' ? 'wasm + OpenBLAS matmul' : backend;
  if (process.env.LEXICON_QUIET_BACKEND !== '1') console.error(`[worker] tfjs backend: ${line}`);
  return backend;
}
