/**
 * Parsing a Neuronpedia export's activation files in worker threads (./activation-thread.ts, one per core up to
 * MAX_THREADS): gunzip, JSON and the packing into typed arrays, which cost more than the database's COPY, run beside
 * the importing thread.
 * Files are handed out one at a time to whichever thread is free, and their batches come back in file order; a batch
 * released goes back to the thread that made it, whose next batches fill its buffers again.
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '@/compute/errors';
import { batchBuffers, type ActivationBatch } from './activation-batch';
import type { ThreadData, ThreadMessage } from './activation-thread';

/** More threads would parse faster than one PostgreSQL connection stores, each holding its own heap. */
const MAX_THREADS = 4;

/**
 * A thread running the TypeScript module through tsx, as the rest of the app runs (Node 20 gives a worker no loader
 * hooks of its parent's), with the repository's tsconfig (its `@/` paths) whatever the working directory, as
 * bin/lexicon.mjs registers it.
 */
function startThread(data: ThreadData): Worker {
  // its ESM entry: a require resolves 'tsx/esm/api' to the CommonJS one, which cannot load from an eval'd module
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  const module = new URL('./activation-thread.ts', import.meta.url).href;
  const options = { parentURL: module, tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) };
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(module)}, ${JSON.stringify(options)}))`, {
    eval: true,
    workerData: data,
  });
}

/**
 * Each file's activations as batches, file after file; `k` is the file's place in `files`. `release` hands the batch's
 * buffers back for reuse: the batch must not be read after it.
 */
export async function* parsedActivations(
  files: string[],
  data: ThreadData,
): AsyncGenerator<{ k: number; batch: ActivationBatch; release: () => void }> {
  if (files.length === 0) return;
  const arrived = files.map(() => [] as ThreadMessage[]);
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const threadOf = new Map<number, Worker>();
  let next = 0;
  const assign = (thread: Worker) => {
    if (next === files.length) return;
    threadOf.set(next, thread);
    thread.postMessage({ k: next, file: files[next] });
    next++;
  };
  const threads = Array.from({ length: Math.min(files.length, os.availableParallelism(), MAX_THREADS) }, () => {
    const thread = startThread(data);
    thread.on('message', (m: ThreadMessage) => {
      arrived[m.k]!.push(m);
      if (!('batch' in m)) assign(thread);
      notify();
    });
    thread.on('error', (err) => {
      failure ??= err;
      notify();
    });
    assign(thread);
    return thread;
  });
  try {
    for (let k = 0; k < files.length; k++) {
      for (;;) {
        while (arrived[k]!.length === 0 && !failure) await new Promise<void>((r) => (wake = r));
        if (failure) throw failure;
        const m = arrived[k]!.shift()!;
        if ('error' in m) throw m.input ? new InputError(m.error) : new Error(m.error);
        if ('done' in m) break;
        const thread = threadOf.get(k)!;
        thread.postMessage('taken');
        const batch = m.batch;
        yield { k, batch, release: () => thread.postMessage({ spare: batchBuffers(batch) }, batchBuffers(batch)) };
      }
    }
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}
