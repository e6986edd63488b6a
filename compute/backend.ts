import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** The backends we try, fastest first. `LEXICON_TF_BACKEND` may name one of them to force it. */
const BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

let chosen: Promise<BackendName> | undefined;

/**
 * Picks the TensorFlow.js backend once per process and returns its name; later calls return the same.
 * Optional native packages are imported dynamically, so their absence only means the next one is tried.
 */
export function initBackend(): Promise<BackendName> {
  chosen ??= choose().catch((err) => {
    chosen = undefined; // a failed forced choice may be retried after fixing the environment
    throw err;
  });
  return chosen;
}

async function choose(): Promise<BackendName> {
  const forced = process.env.LEXICON_TF_BACKEND?.trim();
  if (forced) {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw new Error(`LEXICON_TF_BACKEND=${forced} is not one of ${BACKENDS.join(', ')}`);
    }
    await activate(forced as BackendName);
    return report(forced as BackendName);
  }
  for (const name of BACKENDS) {
    try {
      await activate(name);
      return report(name);
    } catch {
      // not installed or failed to load (e.g. no CUDA): fall through to the next one
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}

async function activate(name: BackendName): Promise<void> {
  switch (name) {
    case 'node-gpu':
    case 'node': {
      // Both packages register the native backend under the name 'tensorflow'.
      // The specifier is a variable so TypeScript does not require the optional package's types.
      const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await import(pkg);
      await setBackend('tensorflow');
      return;
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
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      await setBackend('cpu');
      return;
  }
}

async function setBackend(tfName: string): Promise<void> {
  if (!(await tf.setBackend(tfName))) throw new Error(`tfjs backend ${tfName} failed to initialise`);
  await tf.ready();
}

function report(name: BackendName): BackendName {
  // stderr, so that commands printing JSON on stdout stay parseable; not under `npm start`, whose worker names its
  // backend in its "ready" line (LEXICON_QUIET_BACKEND)
  if (process.env.LEXICON_QUIET_BACKEND !== '1') console.error(`[worker] tfjs backend: ${name}`);
  return name;
}
