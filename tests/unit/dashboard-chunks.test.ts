/**
 * Dashboards computed in feature chunks (as the dashboards job does for large SAEs) against one pass over all
 * features: later chunks reuse the first chunk's evals and its hook activations, and must give the same dashboards.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { chunkIntoContexts } from '@/compute/corpus/contexts';
import { sampleCorpus } from '@/compute/corpus/sample';
import { computeDashboards, HookActivationCache } from '@/compute/dashboards/compute';
import type { DashboardResult, FeatureDashboard } from '@/compute/dashboards/types';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { loadSae } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';
import { FIXTURES_DIR, STORIES_DIR } from '../shared';

let model: LanguageModel;
let sae: Sae;
let contexts: number[][];
let whole: DashboardResult;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
  sae = await loadSae(path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard'));
  const documents = await sampleCorpus(model, { documents: 12, maxTokens: 64, seed: 4 });
  contexts = chunkIntoContexts(documents, { contextSize: 32, prependBos: true, bosId: model.tokenizer.bosId });
  whole = await computeDashboards({ model, sae, contexts, batchSize: 3, seed: 2 });
});

afterAll(() => {
  sae?.dispose();
  model?.dispose();
});

/** Feature chunks of 100: the first computes the evals, the rest reuse them (and, given a cache, its hook activations). */
async function inChunks(hookCache?: HookActivationCache): Promise<FeatureDashboard[]> {
  const all = Array.from({ length: sae.dSae }, (_, f) => f);
  const dashboards: FeatureDashboard[] = [];
  let evals: DashboardResult['sae'] | undefined;
  for (let start = 0; start < all.length; start += 100) {
    const result = await computeDashboards({ model, sae, contexts, batchSize: 3, seed: 2, features: all.slice(start, start + 100), evals, hookCache });
    evals ??= result.sae;
    if (start > 0) expect(result.sae).toBe(evals);
    dashboards.push(...result.features);
  }
  return dashboards;
}

describe('dashboards in feature chunks', () => {
  it('equal one pass over all features, reading later chunks’ hook activations from the cache', async () => {
    const before = tf.memory().numTensors;
    const cache = new HookActivationCache();
    expect(await inChunks(cache)).toEqual(whole.features);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('equal one pass over all features when the cache is too small (the model runs up to the hook)', async () => {
    expect(await inChunks(new HookActivationCache(1024))).toEqual(whole.features);
    expect(await inChunks()).toEqual(whole.features);
  });

  it('ablates the top examples with reused evals, against the clean losses of their contexts', async () => {
    const features = whole.features.filter((f) => f.topExamples.length > 0).slice(0, 2).map((f) => f.index);
    const options = { model, sae, contexts, batchSize: 3, seed: 2, features, ablateTopExamples: true };
    const computed = await computeDashboards(options);
    const reused = await computeDashboards({ ...options, evals: whole.sae });
    expect(reused.sae).toBe(whole.sae);
    reused.features.forEach(({ topExampleAblation, ...dashboard }, i) => {
      const { topExampleAblation: expected, ...computedDashboard } = computed.features[i];
      expect(dashboard).toEqual(computedDashboard);
      expect(topExampleAblation!.map((a) => a.contextIndex)).toEqual(expected!.map((a) => a.contextIndex));
      topExampleAblation!.forEach((a, rank) => a.lossDelta.forEach((delta, t) => expect(delta).toBeCloseTo(expected![rank].lossDelta[t], 5)));
    });
  });
});
