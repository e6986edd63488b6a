/** Models and SAEs kept loaded in the worker between jobs, keyed by path and content hash. */
import type { LanguageModel } from '@/compute/model/types';
import { loadModel } from '@/compute/model/load';
import { loadSae, validateSaeForModel } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';

/** A small least-recently-used cache of loads; evicted entries are disposed. */
class LoadCache<T extends { dispose(): void }> {
  private readonly entries = new Map<string, Promise<T>>();
  constructor(private readonly capacity: number) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.entries.get(key);
    if (cached) {
      // Most recently used goes last.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const loading = load();
    // A failed load is not cached: the next job retries with whatever is on disk then.
    loading.catch(() => this.entries.delete(key));
    this.entries.set(key, loading);
    while (this.entries.size > this.capacity) {
      const [oldest] = this.entries.keys();
      void this.entries.get(oldest!)!.then((value) => value.dispose(), () => undefined);
      this.entries.delete(oldest!);
    }
    return loading;
  }
}

const models = new LoadCache<LanguageModel>(2);
const saes = new LoadCache<Sae>(4);

export function getModel(path: string, contentHash: string): Promise<LanguageModel> {
  return models.get(`${path}#${contentHash}`, () => loadModel(path));
}

export function getSae(path: string, contentHash: string, model: LanguageModel): Promise<Sae> {
  return saes.get(`${path}#${contentHash}`, async () => {
    const sae = await loadSae(path);
    try {
      validateSaeForModel(sae, { ...model.config, hookNames: model.hookNames });
    } catch (err) {
      sae.dispose();
      throw err;
    }
    return sae;
  });
}
