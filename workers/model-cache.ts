/** Loaded models kept in the worker between jobs, keyed by path and content hash. */
import type { LanguageModel } from './model/types';
import { loadModel } from './model/load';

const MAX_MODELS = 2;
const cache = new Map<string, Promise<LanguageModel>>();

export function getModel(path: string, contentHash: string): Promise<LanguageModel> {
  const key = `${path}#${contentHash}`;
  const cached = cache.get(key);
  if (!cached) {
    const model = loadModel(path);
    // A failed load is not cached: the next job retries with whatever is on disk then.
    model.catch(() => cache.delete(key));
    cache.set(key, model);
    while (cache.size > MAX_MODELS) {
      const [oldest] = cache.keys();
      void cache.get(oldest!)!.then((m) => m.dispose(), () => undefined);
      cache.delete(oldest!);
    }
    return model;
  }
  // Most recently used goes last.
  cache.delete(key);
  cache.set(key, cached);
  return cached;
}
