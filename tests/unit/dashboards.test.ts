import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { chunkIntoContexts } from '@/compute/corpus/contexts';
import { sampleCorpus } from '@/compute/corpus/sample';
import { computeDashboards, HookActivationCache, type DashboardOptions } from '@/compute/dashboards/compute';
import type { DashboardProgress, DashboardResult, FeatureDashboard } from '@/compute/dashboards/types';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { Activation, LanguageModel } from '@/compute/model/types';
import { loadSae } from '@/compute/sae/load';
import { createSae, type Sae } from '@/compute/sae/sae';
import { FIXTURES_DIR, STORIES_DIR } from '../shared';

/*
 * The dashboards of the fixture SAE over a small corpus sampled from stories260K, checked against a brute-force
 * run of model + SAE over every token at once, with the metrics recomputed from scratch in float64. The run uses the
 * defaults: BOS left out of examples, maximum and histogram (but counted in density), folded logit weights.
 */

const SAE_DIR = path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard');
const expected = JSON.parse(readFileSync(path.join(SAE_DIR, 'expected.json'), 'utf8'));
/** Folded and raw logit weights from the independent numpy reference (tests/reference/folded_logit_weights.py). */
const foldedReference = JSON.parse(readFileSync(path.join(__dirname, '../reference/stories260K-folded-logit-weights.json'), 'utf8'));

const CONTEXT = 64;
/** 16 contexts of 64 tokens, then 2 of 40: runs of unequal length, and ties (their prefixes repeat contexts 0, 1) */
const SHORT = 40;

let model: LanguageModel;
let sae: Sae;
let contexts: number[][];
let direct: Direct;
let result: DashboardResult;
let progress: DashboardProgress[];

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
  sae = await loadSae(SAE_DIR);
  const documents = await sampleCorpus(model, { documents: 16, maxTokens: CONTEXT, seed: 11, batchSize: 16 });
  const full = chunkIntoContexts(documents, { contextSize: CONTEXT, prependBos: true, bosId: model.tokenizer.bosId });
  contexts = [...full.slice(0, 16), full[0].slice(0, SHORT), full[1].slice(0, SHORT)];
  direct = bruteForce(contexts);
  progress = [];
  // a batch size that does not divide the runs, so the last batch of each run is short
  result = await computeDashboards({ model, sae, contexts, batchSize: 5, seed: 3, onProgress: (p) => void progress.push(p) });
});

describe('feature dashboards', () => {
  it('has one dashboard per feature, measured over every token', () => {
    expect(contexts.slice(0, 16).every((c) => c.length === CONTEXT)).toBe(true);
    expect(result.features.map((f) => f.index)).toEqual(range(sae.dSae));
    for (const f of result.features) expect(f.nTokens).toBe(direct.nTokens);
  });

  it('finds the top contexts by maximum activation (checked against every context)', () => {
    const problems: string[] = [];
    for (const feature of result.features) {
      const f = feature.index;
      const maxima = contexts.map((_, c) => contextMax(c, f)).filter((m) => m > 0).sort((a, b) => b - a);
      const top = feature.topExamples;
      if (top.length !== Math.min(20, maxima.length)) problems.push(`${f}: ${top.length} examples`);
      if (new Set(top.map((e) => e.contextIndex)).size !== top.length) problems.push(`${f}: a context twice`);
      top.forEach((example, rank) => {
        const { contextIndex: c } = example;
        // sorted values equal the brute-force ones (so ties may come in either order) ...
        if (!close(example.maxAct, maxima[rank])) problems.push(`${f}#${rank}: ${example.maxAct} vs ${maxima[rank]}`);
        // ... and each example really is its context, with the activations of every token
        if (!close(example.maxAct, contextMax(c, f))) problems.push(`${f}#${rank}: not context ${c}'s max`);
        if (example.tokens.join() !== contexts[c].join()) problems.push(`${f}#${rank}: tokens`);
        if (example.acts.some((a, t) => !close(a, act(c, t, f)))) problems.push(`${f}#${rank}: acts`);
        if (example.acts[example.maxPos] !== example.maxAct) problems.push(`${f}#${rank}: maxPos`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('counts density (BOS included, and its BOS firings), max (BOS left out) and means as a direct count does', () => {
    let firesOnBos = 0;
    for (const feature of result.features) {
      const f = feature.index;
      let nonzero = 0;
      let atBos = 0;
      let sum = 0;
      let max = 0;
      forEachToken((c, t) => {
        const a = act(c, t, f);
        if (a > 0) nonzero++;
        if (a > 0 && isBos(c, t)) atBos++;
        sum += a;
        if (!isBos(c, t)) max = Math.max(max, a);
      });
      expect(feature.bosExcluded).toBe(true);
      expect(feature.bosCount).toBe(atBos);
      if (atBos > 0) firesOnBos++;
      expect(feature.nonzeroCount).toBe(nonzero);
      expect(feature.density).toBe(nonzero / direct.nTokens);
      expect(feature.maxAct).toBe(max);
      expect(feature.meanAct).toBeCloseTo(sum / nonzero, 5);
      expect(feature.meanActAll).toBeCloseTo(sum / direct.nTokens, 5);
    }
    expect(firesOnBos).toBeGreaterThan(0); // so the BOS handling is exercised
  });

  it('histograms the non-zero activations other than at BOS over [0, max]', () => {
    for (const feature of result.features) {
      const { edges, counts } = feature.histogram;
      expect(counts).toHaveLength(50);
      expect(edges).toHaveLength(51);
      expect(edges[0]).toBe(0);
      expect(edges[50]).toBe(feature.maxAct);
      expect(sum(counts)).toBe(feature.nonzeroCount - feature.bosCount);
    }
  });

  it('draws interval examples from within their intervals, never at BOS', () => {
    for (const feature of result.features) {
      const { intervals, maxAct, nonzeroCount, bosCount } = feature;
      expect(intervals).toHaveLength(10);
      expect(sum(intervals.map((i) => i.count))).toBe(nonzeroCount - bosCount);
      intervals.forEach(({ lo, hi, count, examples }, i) => {
        expect(lo).toBeCloseTo((maxAct * i) / 10, 6);
        expect(hi).toBeCloseTo((maxAct * (i + 1)) / 10, 6);
        expect(examples).toHaveLength(Math.min(5, count));
        for (const example of examples) {
          expect(example.act).toBeGreaterThanOrEqual(lo - 1e-6);
          expect(example.act).toBeLessThanOrEqual(hi + 1e-6);
          expect(example.acts[example.position]).toBe(example.act);
          expect(isBos(example.contextIndex, example.position)).toBe(false);
          expect(close(example.act, act(example.contextIndex, example.position, feature.index))).toBe(true);
        }
      });
    }
  });

  it('draws random contexts among those where the feature fires other than at BOS, each once, in corpus order', () => {
    let sampled = 0;
    for (const feature of result.features) {
      const f = feature.index;
      const firing = contexts.map((_, c) => c).filter((c) => contextMax(c, f) > 0);
      const picked = feature.randomExamples.map((e) => e.contextIndex);
      expect(picked).toHaveLength(Math.min(10, firing.length));
      expect(picked).toEqual([...new Set(picked)].sort((a, b) => a - b));
      expect(picked.every((c) => firing.includes(c))).toBe(true);
      for (const e of feature.randomExamples) {
        expect(e.tokens).toEqual(contexts[e.contextIndex]);
        expect(close(e.maxAct, contextMax(e.contextIndex, f))).toBe(true);
      }
      if (firing.length > 10) sampled++;
    }
    expect(sampled).toBeGreaterThan(0); // some features fire in more contexts than are drawn
  });

  it('matches the independent reference for folded logit weights, and the encoder/decoder statistics of the weights', () => {
    const W_enc = sae.weights.W_enc.arraySync();
    const W_dec = sae.weights.W_dec.arraySync();
    const b_enc = sae.weights.b_enc!.arraySync();
    for (const f of expected.chosen_features as number[]) {
      const { logitWeights, logitHistogram, logitFoldLn } = result.features[f];
      expect(logitFoldLn).toBe(true);
      const want = foldedReference.folded[String(f)];
      for (const [side, key] of [['top', 'top10'], ['bottom', 'bottom10']] as const) {
        expect(logitWeights[side].map((w) => w.id)).toEqual(want[key].map(([id]: number[]) => id));
        logitWeights[side].forEach((w, i) => expect(w.value).toBeCloseTo(want[key][i][1], 5));
      }
      expect(sum(logitHistogram.counts)).toBe(model.config.vocabSize);
      expect(logitHistogram.edges[0]).toBeCloseTo(want.bottom10[0][1], 5);
      expect(logitHistogram.edges.at(-1)).toBeCloseTo(want.top10[0][1], 5);
    }
    for (const { index: f, encoderBias, encoderNorm, decoderNorm, deDot, deCos } of result.features) {
      const enc = W_enc.map((row) => row[f]);
      const dot = enc.reduce((s, e, i) => s + e * W_dec[f][i], 0);
      expect(encoderBias).toBeCloseTo(b_enc[f], 6);
      expect(encoderNorm).toBeCloseTo(Math.hypot(...enc), 5);
      expect(decoderNorm).toBeCloseTo(1, 5); // the fixture's decoder rows have unit norm
      expect(deDot).toBeCloseTo(dot, 5);
      expect(deCos).toBeCloseTo(dot / Math.hypot(...enc) / Math.hypot(...W_dec[f]), 5);
    }
  });
});

describe('SAE evals', () => {
  it('match a direct computation over the same tokens', () => {
    const { sae: evals } = result;
    const want = directEvals();
    expect(evals.nTokens).toBe(direct.nTokens);
    expect(evals.nPredictions).toBe(direct.nTokens - contexts.length);
    expect(evals.l0).toBe(want.l0);
    expect(evals.mse).toBeCloseTo(want.mse, 7);
    expect(evals.varianceExplained!).toBeCloseTo(want.varianceExplained, 6);
    expect(evals.centredSumOfSquares / want.centred).toBeCloseTo(1, 6);
    expect(evals.ceClean!).toBeCloseTo(want.ceClean, 4);
    expect(evals.ceSpliced!).toBeCloseTo(want.ceSpliced, 4);
    expect(evals.ceAblated!).toBeCloseTo(want.ceAblated, 4);
    expect(evals.ceRecovered!).toBeCloseTo((want.ceAblated - want.ceSpliced) / (want.ceAblated - want.ceClean), 4);
    // SAELens's ce_loss_score: the same ratio against the hook zeroed
    expect(evals.ceZeroAblated!).toBeCloseTo(want.ceZeroAblated, 4);
    expect(evals.ceRecoveredZero!).toBeCloseTo((want.ceZeroAblated - want.ceSpliced) / (want.ceZeroAblated - want.ceClean), 4);
    expect(evals.ceZeroAblated).not.toBeCloseTo(evals.ceAblated!, 1);
    expect(evals.meanOver).toBe('all corpus tokens, BOS included');
    // the fixture's own measurement on 25k tokens: L0 9.07, variance explained 0.864, 91.2% CE recovered
    expect(evals.l0).toBeGreaterThan(6);
    expect(evals.varianceExplained).toBeGreaterThan(0.7);
    expect(evals.ceRecovered).toBeGreaterThan(0.8);
  });

  it('counts firing, dead features and log densities', () => {
    const { sae: evals } = result;
    expect(evals.firingCounts).toEqual(result.features.map((f) => f.nonzeroCount));
    const dead = evals.firingCounts.filter((n) => n === 0).length;
    expect(evals.deadFraction).toBe(dead / sae.dSae);
    expect(evals.ultraRareFraction).toBe(0); // 1/N ≈ 1e-3: this corpus cannot see densities below 1e-5
    expect(sum(evals.densityHistogram.counts) + evals.densityHistogram.dead).toBe(sae.dSae);
    expect(evals.densityHistogram.edges[0]).toBe(Math.floor(Math.log10(1 / direct.nTokens)));
  });

  it('breaks the metrics down by position, and they add back up to the totals', () => {
    const { sae: evals } = result;
    const positions = evals.byPosition;
    expect(positions.map((p) => p.position)).toEqual(range(CONTEXT));
    positions.forEach((p) => expect(p.nTokens).toBe(p.position < SHORT ? 18 : 16));
    expect(positions[CONTEXT - 1].nPredictions).toBe(0);
    expect(positions[CONTEXT - 1].ceClean).toBeNull();
    expect(positions[SHORT - 1].nPredictions).toBe(16);

    const weighted = (value: (p: (typeof positions)[number]) => number, weight: (p: (typeof positions)[number]) => number) =>
      sum(positions.map((p) => (weight(p) > 0 ? value(p) * weight(p) : 0))) / sum(positions.map(weight));
    expect(weighted((p) => p.l0, (p) => p.nTokens)).toBeCloseTo(evals.l0, 10);
    expect(weighted((p) => p.mse, (p) => p.nTokens)).toBeCloseTo(evals.mse, 10);
    expect(weighted((p) => p.ceClean!, (p) => p.nPredictions)).toBeCloseTo(evals.ceClean!, 10);
    expect(weighted((p) => p.ceAblated!, (p) => p.nPredictions)).toBeCloseTo(evals.ceAblated!, 10);
    expect(1 - weighted((p) => 1 - p.varianceExplained!, (p) => p.centredSumOfSquares)).toBeCloseTo(evals.varianceExplained!, 10);

    // and position 0 (BOS) on its own, directly
    let firing = 0;
    contexts.forEach((_, c) => {
      for (let f = 0; f < sae.dSae; f++) if (act(c, 0, f) > 0) firing++;
    });
    expect(positions[0].l0).toBe(firing / contexts.length);
  });
});

describe('computeDashboards', () => {
  it('reports progress up to every token of both passes', () => {
    const tokens = progress.filter((p) => p.phase !== 'weights');
    expect(tokens.map((p) => p.phase)).toEqual([...Array(5).fill('statistics'), ...Array(5).fill('examples')]);
    expect(tokens.every((p, i) => i === 0 || p.tokensDone > tokens[i - 1].tokensDone)).toBe(true);
    expect(tokens.at(-1)).toMatchObject({ tokensDone: 2 * direct.nTokens, tokensTotal: 2 * direct.nTokens, etaSeconds: 0 });
    expect(tokens[0].tokensPerSecond).toBeGreaterThan(0);
    // the weights come first and count features: none done, then all
    const weights = progress.filter((p) => p.phase === 'weights');
    expect(progress.slice(0, weights.length)).toEqual(weights);
    expect(weights.map((p) => [p.features!.done, p.features!.total])).toEqual([
      [0, sae.dSae],
      [sae.dSae, sae.dSae],
    ]);
    const { modelSeconds, saeSeconds, bookkeepingSeconds, weightsSeconds, totalSeconds } = result.timings;
    expect(modelSeconds + saeSeconds + bookkeepingSeconds + weightsSeconds).toBeLessThanOrEqual(totalSeconds);
    expect(modelSeconds).toBeGreaterThan(0);
  });

  it('with excludeBos false and foldLn false, ranks BOS like any token and gives the raw W_dec·W_U of the fixture', async () => {
    const features = expected.chosen_features as number[];
    const run = await computeDashboards({ model, sae, contexts, batchSize: 5, seed: 3, features, excludeBos: false, foldLn: false });
    let bosPeaks = 0;
    for (const feature of run.features) {
      const f = feature.index;
      let max = 0;
      forEachToken((c, t) => (max = Math.max(max, act(c, t, f))));
      expect(feature.bosExcluded).toBe(false);
      expect(feature.maxAct).toBe(max);
      expect(sum(feature.histogram.counts)).toBe(feature.nonzeroCount);
      bosPeaks += feature.topExamples.filter((e) => isBos(e.contextIndex, e.maxPos)).length;
      expect(feature.logitFoldLn).toBe(false);
      expect(feature.logitWeights.top.map((w) => w.id)).toEqual(expected.logit_weights[String(f)].top10.map(([id]: number[]) => id));
    }
    expect(bosPeaks).toBeGreaterThan(0); // the default run has none (checked above), this one has some
    expect(result.features.flatMap((d) => d.topExamples).filter((e) => isBos(e.contextIndex, e.maxPos))).toEqual([]);
  });

  it('computes a subset of features only, each exactly as in the full run', async () => {
    const features = [200, 84, 3];
    const subset = await computeDashboards({ model, sae, contexts, batchSize: 5, seed: 3, features });
    expect(subset.features.map((f) => f.index)).toEqual(features);
    subset.features.forEach((f) => expect(f).toEqual(result.features[f.index]));
    expect(subset.sae).toEqual(result.sae);
  });

  it('skips the evals for a subset: the same dashboards and ablations, over one pass of the model up to the hook', async () => {
    const features = [200, 84, 3];
    const options = { sae, contexts, batchSize: 5, seed: 3, features, ablateTopExamples: true };
    const withEvals = countingPasses();
    const computed = await computeDashboards({ ...options, model: withEvals.model });
    const withoutEvals = countingPasses();
    const skipped = await computeDashboards({ ...options, model: withoutEvals.model, evals: 'skip', hookCache: new HookActivationCache() });

    expect(skipped.sae).toBeNull();
    skipped.features.forEach((f, i) => {
      const { topExampleAblation, ...dashboard } = f;
      expect(dashboard).toEqual(result.features[f.index]);
      expect(topExampleAblation!.map((a) => a.contextIndex)).toEqual(f.topExamples.map((e) => e.contextIndex));
      topExampleAblation!.forEach((a, rank) =>
        a.lossDelta.forEach((delta, t) => expect(delta).toBeCloseTo(computed.features[i].topExampleAblation![rank].lossDelta[t], 5)));
    });
    // with the evals: the clean, spliced, zero- and mean-ablated passes over the corpus, then the ablations
    const ablated = sum(computed.features.flatMap((f) => f.topExamples.map((e) => e.tokens.length)));
    expect(withEvals.passes).toEqual({ upToHook: 0, whole: 4 * direct.nTokens + ablated });
    // without: the model up to the hook once (the second pass reads the cache), and the clean losses of the top contexts only
    const topContexts = new Set(skipped.features.flatMap((f) => f.topExamples.map((e) => e.contextIndex)));
    expect(withoutEvals.passes).toEqual({ upToHook: direct.nTokens, whole: sum([...topContexts].map((c) => contexts[c].length)) + ablated });
  });

  it('is deterministic for a seed, and the seed decides the interval examples', async () => {
    const options: DashboardOptions = { model, sae, contexts, batchSize: 5, seed: 3, features: [84, 250] };
    const again = await computeDashboards(options);
    expect(again.features).toEqual(result.features.filter((f) => f.index === 84 || f.index === 250));
    const reseeded = await computeDashboards({ ...options, seed: 4 });
    const picks = (f: FeatureDashboard) => f.intervals.map((i) => i.examples.map((e) => `${e.contextIndex}:${e.position}`));
    expect(reseeded.features.map(picks)).not.toEqual(again.features.map(picks));
    expect(reseeded.features.map((f) => f.topExamples)).toEqual(again.features.map((f) => f.topExamples));
  });

  it('stops between batches when aborted, leaving no tensors behind', async () => {
    const controller = new AbortController();
    const phases: string[] = [];
    const before = tf.memory().numTensors;
    const run = computeDashboards({
      model, sae, contexts, batchSize: 4, signal: controller.signal,
      onProgress: ({ phase }) => {
        phases.push(phase);
        if (phase === 'statistics') controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(phases).toEqual(['weights', 'weights', 'statistics']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('measures the loss change of ablating the feature in each top example', async () => {
    const feature: number = expected.ablation.feature;
    const { features: [dashboard] } = await computeDashboards({
      model, sae, contexts, batchSize: 5, features: [feature], topK: 3, ablateTopExamples: true,
    });
    const ablations = dashboard.topExampleAblation!;
    expect(ablations.map((a) => a.contextIndex)).toEqual(dashboard.topExamples.map((e) => e.contextIndex));
    const direction = sae.weights.W_dec.arraySync()[feature];
    for (const { contextIndex: c, lossDelta } of ablations) {
      const T = contexts[c].length;
      const ablated = tf.tidy(() => {
        const acts = tf.tensor3d([Array.from({ length: T }, (_, t) => [act(c, t, feature)])]);
        const hook = (x: Activation) => tf.sub(x, tf.mul(acts, tf.tensor1d(direction))) as tf.Tensor3D;
        return losses(model.forward([contexts[c]], { hooks: { [sae.cfg.hookName]: hook } }).logits!, [contexts[c]])[0];
      });
      expect(lossDelta).toHaveLength(T - 1);
      lossDelta.forEach((delta, t) => expect(delta).toBeCloseTo(ablated[t] - direct.losses.clean[c][t], 4));
      expect(lossDelta.some((delta) => Math.abs(delta) > 1e-3)).toBe(true);
    }
  });

  it('reports a feature that never fires as dead, with empty examples and histograms', async () => {
    const dead = 7;
    const bias = sae.weights.b_enc!.arraySync();
    bias[dead] = -1e6;
    const b_enc = tf.tensor1d(bias);
    try {
      const silenced = createSae(sae.cfg, { ...sae.weights, b_enc });
      const { features, sae: evals } = await computeDashboards({ model, sae: silenced, contexts, batchSize: 9, features: [dead] });
      expect(features[0]).toMatchObject({
        nonzeroCount: 0, density: 0, maxAct: 0, meanAct: 0, meanActAll: 0,
        histogram: { edges: [], counts: [] }, topExamples: [], randomExamples: [], intervals: [],
      });
      expect(evals.deadFraction).toBe(1 / sae.dSae);
      expect(evals.densityHistogram.dead).toBe(1);
    } finally {
      b_enc.dispose();
    }
  });

  it('rejects features outside the SAE, repeated features and empty contexts', async () => {
    await expect(computeDashboards({ model, sae, contexts, features: [sae.dSae] })).rejects.toThrow(InputError);
    await expect(computeDashboards({ model, sae, contexts, features: [1, 1] })).rejects.toThrow(/more than once/);
    await expect(computeDashboards({ model, sae, contexts: [[1, 2], []] })).rejects.toThrow(/context 1 has no tokens/);
    await expect(computeDashboards({ model, sae, contexts, batchSize: 0 })).rejects.toThrow(/batchSize/);
  });
});

/** Model and SAE over every context at once (one forward pass per context length), read back to the host. */
interface Direct {
  nTokens: number;
  /** per context, [T, d_sae] */
  acts: Float32Array[];
  /** per context, [T, d_in] */
  x: Float32Array[];
  reconstruction: Float32Array[];
  /** per context, float64 next-token losses */
  losses: Record<'clean' | 'spliced' | 'ablated' | 'zeroAblated', number[][]>;
}

/** The model, counting the tokens it runs forward: through to the logits, or stopping at a hook. */
function countingPasses(): { model: LanguageModel; passes: { upToHook: number; whole: number } } {
  const passes = { upToHook: 0, whole: 0 };
  const counted: LanguageModel = Object.create(model);
  counted.forward = (ids, options) => {
    passes[options?.stopAt ? 'upToHook' : 'whole'] += ids.length * ids[0].length;
    return model.forward(ids, options);
  };
  return { model: counted, passes };
}

function bruteForce(all: number[][]): Direct {
  const hook = sae.cfg.hookName;
  const byLength = new Map<number, number[]>();
  all.forEach((c, i) => byLength.set(c.length, [...(byLength.get(c.length) ?? []), i]));
  const out: Direct = { nTokens: sum(all.map((c) => c.length)), acts: [], x: [], reconstruction: [], losses: { clean: [], spliced: [], ablated: [], zeroAblated: [] } };
  for (const rows of byLength.values()) {
    const ids = rows.map((c) => all[c]);
    const T = ids[0].length;
    tf.tidy(() => {
      const { logits, cache } = model.forward(ids, { capture: [hook] });
      const x = cache.get(hook)!;
      const { acts, reconstruction } = sae.forward(tf.reshape(x, [-1, sae.dIn]) as tf.Tensor2D);
      const spliced = model.forward(ids, { hooks: { [hook]: () => tf.reshape(reconstruction, x.shape) as Activation } }).logits!;
      const zeroed = model.forward(ids, { hooks: { [hook]: () => tf.zeros(x.shape) as Activation } }).logits!;
      const split = (t: tf.Tensor, width: number) => {
        const data = t.dataSync() as Float32Array;
        return rows.map((_, b) => data.slice(b * T * width, (b + 1) * T * width));
      };
      const [a, xs, r] = [split(acts, sae.dSae), split(x, sae.dIn), split(reconstruction, sae.dIn)];
      const [clean, splicedLosses, zeroLosses] = [losses(logits!, ids), losses(spliced, ids), losses(zeroed, ids)];
      rows.forEach((c, b) => {
        out.acts[c] = a[b];
        out.x[c] = xs[b];
        out.reconstruction[c] = r[b];
        out.losses.clean[c] = clean[b];
        out.losses.spliced[c] = splicedLosses[b];
        out.losses.zeroAblated[c] = zeroLosses[b];
      });
      x.dispose();
    });
  }
  // mean ablation needs the mean over every token first
  const mean = new Float64Array(sae.dIn);
  out.x.forEach((x) => x.forEach((v, i) => (mean[i % sae.dIn] += v / out.nTokens)));
  for (const rows of byLength.values()) {
    const ids = rows.map((c) => all[c]);
    const ablated = tf.tidy(() => {
      const hook = (x: Activation) => tf.broadcastTo(tf.tensor1d(Float32Array.from(mean)), x.shape) as Activation;
      return losses(model.forward(ids, { hooks: { [sae.cfg.hookName]: hook } }).logits!, ids);
    });
    rows.forEach((c, b) => (out.losses.ablated[c] = ablated[b]));
  }
  return out;
}

/** Next-token losses per row, from a float64 log-softmax. */
function losses(logits: tf.Tensor3D, ids: number[][]): number[][] {
  return logits.arraySync().map((rows, b) =>
    rows.slice(0, -1).map((row, t) => {
      const max = Math.max(...row);
      const logSumExp = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      return logSumExp - row[ids[b][t + 1]];
    }),
  );
}

function directEvals() {
  let l0 = 0;
  let squaredError = 0;
  const mean = new Float64Array(sae.dIn);
  forEachToken((c, t) => {
    for (let d = 0; d < sae.dIn; d++) mean[d] += direct.x[c][t * sae.dIn + d] / direct.nTokens;
  });
  let centred = 0;
  forEachToken((c, t) => {
    for (let f = 0; f < sae.dSae; f++) if (act(c, t, f) > 0) l0++;
    for (let d = 0; d < sae.dIn; d++) {
      const i = t * sae.dIn + d;
      squaredError += (direct.x[c][i] - direct.reconstruction[c][i]) ** 2;
      centred += (direct.x[c][i] - mean[d]) ** 2;
    }
  });
  const ce = (kind: keyof Direct['losses']) => {
    const all = direct.losses[kind].flat();
    return sum(all) / all.length;
  };
  return {
    l0: l0 / direct.nTokens,
    mse: squaredError / (direct.nTokens * sae.dIn),
    varianceExplained: 1 - squaredError / centred,
    centred,
    ceClean: ce('clean'),
    ceSpliced: ce('spliced'),
    ceAblated: ce('ablated'),
    ceZeroAblated: ce('zeroAblated'),
  };
}

function act(c: number, t: number, f: number): number {
  return direct.acts[c][t * sae.dSae + f];
}

/** Context c's largest activation of feature f at a token other than BOS (the default run leaves BOS out). */
function contextMax(c: number, f: number): number {
  let max = 0;
  for (let t = 0; t < contexts[c].length; t++) if (!isBos(c, t)) max = Math.max(max, act(c, t, f));
  return max;
}

function isBos(c: number, t: number): boolean {
  return contexts[c][t] === model.tokenizer.bosId;
}

function forEachToken(visit: (c: number, t: number) => void): void {
  contexts.forEach((context, c) => {
    for (let t = 0; t < context.length; t++) visit(c, t);
  });
}

function close(a: number, b: number, tolerance = 1e-5): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}
