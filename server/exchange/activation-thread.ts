/**
 * A parsing thread of ./activation-threads.ts: gunzips the Neuronpedia activation files it is given, reads their
 * lines (./activation-scan.ts, JSON.parse for a line of another shape) and packs them into ActivationBatches, posting
 * each to the importing thread. It stays at most AHEAD batches ahead of what that thread has taken, so memory stays
 * bounded however far the database falls behind, and fills the buffers of the batches that thread gives back again.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '@/compute/errors';
import { ActivationBatcher, batchBuffers, BufferPool, pieceIdsOf, type ActivationBatch, type ImportedActivation } from './activation-batch';
import { featureIndex, numbers, object, optionalNumber, strings, type Fields } from './neuronpedia-fields';
import { byteLines, jsonLine, type At } from './neuronpedia-files';
import { ActivationScanner } from './activation-scan';

export interface ThreadData {
  root: string;
  pieces: string[];
  dSae: number;
}

/** Activations per posted batch. */
const BATCH = 1000;
/** Batches posted but not yet taken, beyond which the thread waits. */
export const AHEAD = 16;

/** Messages to the importing thread: a batch of file k, the end of file k, or why file k could not be read. */
export type ThreadMessage =
  | { k: number; batch: ActivationBatch }
  | { k: number; done: true }
  | { k: number; error: string; input: boolean };

export function parseActivation(o: Fields, at: At): ImportedActivation {
  return {
    index: featureIndex(o, 'index', at),
    tokens: strings(o, 'tokens', at),
    values: numbers(o, 'values', at),
    maxValue: optionalNumber(o, 'maxValue', at),
    maxValueTokenIndex: optionalNumber(o, 'maxValueTokenIndex', at),
    binMin: optionalNumber(o, 'binMin', at),
    binMax: optionalNumber(o, 'binMax', at),
    binContains: optionalNumber(o, 'binContains', at),
    qualifyingTokenIndex: optionalNumber(o, 'qualifyingTokenIndex', at),
    lossValues: numbers(o, 'lossValues', at),
  };
}

if (parentPort) {
  const port = parentPort;
  const { root, pieces, dSae } = workerData as ThreadData;
  const pieceIds = pieceIdsOf(pieces);
  const scanner = new ActivationScanner(pieces);
  const pool = new BufferPool();
  let credit = AHEAD;
  let resume: (() => void) | null = null;

  const post = async (message: ThreadMessage, transfer: ArrayBuffer[] = []) => {
    if ('batch' in message) {
      while (credit === 0) await new Promise<void>((r) => (resume = r));
      credit--;
    }
    port.postMessage(message, transfer);
  };

  const parseFile = async (k: number, file: string) => {
    try {
      let batcher: ActivationBatcher | null = null;
      for await (const { bytes, at } of byteLines(root, file)) {
        batcher ??= new ActivationBatcher(at.file, pieceIds, dSae, pool);
        if (!scanner.scan(bytes, batcher, at)) {
          // not of the usual shape (or not JSON): parsed whole, which reads it or names what is wrong
          const value = jsonLine(bytes, at);
          if (value !== undefined) batcher.add(parseActivation(object(value, at), at), at);
        }
        if (batcher.size >= BATCH) {
          const batch = batcher.take();
          await post({ k, batch }, batchBuffers(batch));
        }
      }
      if (batcher && batcher.size > 0) {
        const batch = batcher.take();
        await post({ k, batch }, batchBuffers(batch));
      }
      await post({ k, done: true });
    } catch (err) {
      await post({ k, error: (err as Error).message, input: err instanceof InputError });
    }
  };

  port.on('message', (m: { k: number; file: string } | 'taken' | { spare: ArrayBuffer[] }) => {
    if (m === 'taken') {
      credit++;
      resume?.();
      resume = null;
    } else if ('spare' in m) {
      pool.put(m.spare);
    } else {
      void parseFile(m.k, m.file);
    }
  });
}
