/**
 * Dashboards computed in pieces, as the dashboards job's shards compute them, against one pass over all features:
 * - in feature chunks, later chunks reuse the first chunk's evals and its hook activations, and must give the same
 *   dashboards;
 * - the SAE evals over ranges of the corpus: the first passes' sums merged give the corpus mean, the mean-ablated
 *   passes use it, and all the sums merged give the same evals — within 1e-6 relative, not bit for bit, as the
 *   float64 sums add in another order.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { chunkIntoContexts } from '@/compute/corpus/contexts';
import { sampleCorpus } from '@/compute/corpus/sample';
import {
  computeDashboards, dashboardsOfParts, examplesOfRange, HookActivationCache, partOptions, rangesOfBatches, statisticsOfRange, type DashboardOptions,
} from '@/compute/dashboards/compute';
import { computeEvalRange } from '@/compute/dashboards/eval-passes';
import { EvalAccumulator, type EvalSums } from '@/compute/dashboards/evals';
import { ActivationSamples, ActivationTotals } from '@/compute/dashboards/features';
import { decodeSamples, decodeTotals, encodeSamples, encodeTotals } from '@/compute/dashboards/parts';
import type { DashboardResult, FeatureDashboard, SaeEvals } from '@/compute/dashboards/types';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { loadSae } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';
import { relativeDifferences } from '../helpers/close';
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

/**
 * The dashboards as a job's shards compute them: pass 1 over each range of the corpus, the parts stored and read back
 * (parts.ts) and merged, pass 2 over each range with the merged totals, those parts merged, then the dashboards.
 */
async function dashboardsInRanges(n: number, options: Partial<DashboardOptions> = {}): Promise<FeatureDashboard[]> {
  const run = { model, sae, contexts, batchSize: 3, seed: 2, ...options };
  const { totals: totalsOptions, samples: sampleOptions } = partOptions(run);
  const passRanges = rangesOfBatches(contexts, 3, n);
  expect(passRanges).toHaveLength(n);
  const totalsParts: Buffer[] = [];
  for (const range of passRanges) totalsParts.push(encodeTotals((await statisticsOfRange({ ...run, range })).part));
  const totals = ActivationTotals.merged(totalsParts.map((bytes) => decodeTotals(bytes, totalsOptions)));
  const targets = { maxActs: totals.maxActs(), top: totals.top, random: totals.random };
  const sampleParts: Buffer[] = [];
  for (const range of passRanges) sampleParts.push(encodeSamples((await examplesOfRange({ ...run, range }, totals)).part));
  const samples = ActivationSamples.merged(sampleParts.map((bytes) => decodeSamples(bytes, targets, sampleOptions, contexts)));
  return (await dashboardsOfParts(run, totals, samples)).features;
}

/** A dashboard without its float64 means, which depend on the order the sums add in. */
const exact = ({ meanAct: _meanAct, meanActAll: _meanActAll, ...rest }: FeatureDashboard) => rest;

describe('dashboards over ranges of the corpus, their parts merged', () => {
  it('equal one pass’s: counts, maxima, histograms, top, random and interval examples exactly, the means within 1e-6', async () => {
    const before = tf.memory().numTensors;
    const merged = await dashboardsInRanges(4);
    expect(tf.memory().numTensors).toBe(before);
    expect(merged.map(exact)).toEqual(whole.features.map(exact));
    expect(relativeDifferences(merged, whole.features, 1e-6).slice(0, 10)).toEqual([]);
    // the corpus exercises the sampling: features firing in more contexts than are drawn
    expect(whole.features.some((f) => f.randomExamples.length === 10 && f.intervals.some((i) => i.count > 5))).toBe(true);
  });

  it('ablate the merged top examples as one pass does', async () => {
    const features = whole.features.filter((f) => f.topExamples.length > 0).slice(0, 2).map((f) => f.index);
    const options = { features, ablateTopExamples: true };
    const [merged, onePass] = [await dashboardsInRanges(2, options), (await computeDashboards({ model, sae, contexts, batchSize: 3, seed: 2, evals: 'skip', ...options })).features];
    expect(merged.map(exact)).toEqual(onePass.map(exact));
    expect(merged[0].topExampleAblation).toHaveLength(merged[0].topExamples.length);
  });

  it('refuse a range outside the corpus', async () => {
    await expect(statisticsOfRange({ model, sae, contexts, range: { first: 1, count: contexts.length } })).rejects.toThrow(
      `contexts 1..${contexts.length} are not a range of the corpus's ${contexts.length} contexts`,
    );
  });
});

/** Contexts split into `n` ranges (uneven, so that batches straddle other boundaries than one pass's). */
function ranges(n: number): { first: number; count: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const first = Math.floor((i * contexts.length) / n);
    return { first, count: Math.floor(((i + 1) * contexts.length) / n) - first };
  });
}

async function evalsInRanges(n: number): Promise<{ evals: SaeEvals; parts: EvalSums[] }> {
  const pass = async (mean?: Float32Array) => {
    const parts: EvalSums[] = [];
    for (const range of ranges(n)) parts.push((await computeEvalRange({ model, sae, contexts, ...range, batchSize: 3, mean })).sums);
    return parts;
  };
  const first = await pass();
  const second = await pass(EvalAccumulator.merged(first).meanActivation());
  const parts = [...first, ...second];
  return { evals: EvalAccumulator.merged(parts).result(50), parts };
}

describe('SAE evals over ranges of the corpus', () => {
  it('merge to one pass’s evals, within 1e-6 relative; firing counts exactly', async () => {
    expect(contexts.length).toBeGreaterThan(6);
    const before = tf.memory().numTensors;
    const { evals, parts } = await evalsInRanges(3);
    expect(tf.memory().numTensors).toBe(before);
    expect(evals.firingCounts).toEqual(whole.sae.firingCounts);
    expect(evals.nTokens).toBe(whole.sae.nTokens);
    expect(evals.ceAblated).not.toBeNull();
    expect(relativeDifferences(evals, whole.sae, 1e-6).slice(0, 10)).toEqual([]);
    // each range's first pass counts its own tokens; its mean-ablated pass adds only those losses
    expect(parts.slice(0, 3).map((p) => p.tokens.reduce((a, b) => a + b, 0))).toEqual(
      ranges(3).map((r) => contexts.slice(r.first, r.first + r.count).reduce((n, context) => n + context.length, 0)),
    );
    expect(parts.slice(3).every((p) => p.tokens.every((n) => n === 0) && p.losses.ablated.some((loss) => loss > 0))).toBe(true);
  });

  it('are the same, bit for bit, whenever computed in the same ranges and merged in the same order', async () => {
    expect((await evalsInRanges(4)).evals).toEqual((await evalsInRanges(4)).evals);
  });

  it('refuse a range outside the corpus and sums of another shape', async () => {
    await expect(computeEvalRange({ model, sae, contexts, first: contexts.length - 1, count: 2, batchSize: 3 })).rejects.toThrow(
      `contexts ${contexts.length - 1}..${contexts.length} are not a range of the corpus's ${contexts.length} contexts`,
    );
    await expect(computeEvalRange({ model, sae, contexts, first: 0, count: 1, batchSize: 3, mean: new Float32Array(3) })).rejects.toThrow(
      'the mean activation has 3 dimensions',
    );
    const { sums } = await computeEvalRange({ model, sae, contexts, first: 0, count: 1, batchSize: 3 });
    const accumulator = EvalAccumulator.merged([sums]);
    expect(() => accumulator.merge({ ...sums, firing: sums.firing.slice(1) })).toThrow(/eval sums of another shape/);
  });
});
