import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ablateFeature } from '@/compute/analyses/ablate';
import { featureActivations } from '@/compute/analyses/activations';
import { featureStats } from '@/compute/analyses/feature-stats';
import { allLogitWeights, logitWeights, type FeatureLogitWeights } from '@/compute/analyses/logit-weights';
import { prepareInput } from '@/compute/analyses/predict';
import { steer } from '@/compute/analyses/steer';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { parseSaeConfig } from '@/compute/sae/config';
import { loadSae } from '@/compute/sae/load';
import { createSae, type Sae } from '@/compute/sae/sae';
import { FIXTURES_DIR, STORIES_DIR } from '../shared';
import { readSaeFixture, SAE_DIR, writeNarrowSae, writeUnknownHookSae, type SaeFixture } from './analyses-helpers';
import { gaussian, makeTempDir, seededRandom } from './sae-helpers';
import { close, mismatch } from './sae-reference';

/** The fixture's suggested tolerance for losses (fixtures/README.md). */
const LOSS_ATOL = 1e-5;
/** Where nothing changed, float32 gives exactly equal logits; this only allows for a different summation order. */
const UNCHANGED = 1e-7;

let model: LanguageModel;
let sae: Sae;
let fixture: SaeFixture;
let tmp: string;

beforeAll(async () => {
  await initBackend();
  [model, sae, fixture, tmp] = await Promise.all([loadModel(STORIES_DIR), loadSae(SAE_DIR), readSaeFixture(), makeTempDir('analyses')]);
});
afterAll(async () => {
  sae?.dispose();
  model?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

const greedy = () => fixture.sequences[0];
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const coefficientScan = Array.from({ length: 21 }, (_, i) => i - 10);

describe('activations', () => {
  it('matches the fixture top-5 features and chosen feature activations at every token', () => {
    for (const seq of fixture.sequences) {
      const result = featureActivations(model, sae, seq.ids, { features: fixture.chosen_features, topK: 5 });
      expect(result.tokens).toEqual(seq.ids);
      expect(result.pieces).toHaveLength(seq.n_tokens);
      for (const f of fixture.chosen_features) {
        expect(mismatch(result.features[f], seq.feature_acts[f], `${seq.name} feature ${f}`)).toBe('');
      }
      result.top.forEach((ours, t) => {
        const where = `${seq.name} position ${t}`;
        const expected = seq.per_token.top5[t];
        // features within 1e-4 of the relu boundary may be on or off in float32, changing the list by those entries
        const undecided = new Set(seq.near_boundary.filter(([pos]) => pos === t).map(([, feature]) => feature));
        const decided = <T extends { feature: number }>(list: T[]) => list.filter(({ feature }) => !undecided.has(feature));
        const theirs = expected.map(([feature, act]) => ({ feature, act }));
        expect(decided(ours).map((e) => e.feature), where).toEqual(decided(theirs).map((e) => e.feature));
        expect(mismatch(decided(ours).map((e) => e.act), decided(theirs).map((e) => e.act), where)).toBe('');
      });
    }
  });

  it('lists features with a positive activation only, largest first, and none for topK 0', () => {
    const { top } = featureActivations(model, sae, greedy().ids, { topK: 40 });
    for (const row of top) {
      expect(row.every(({ act }) => act > 0)).toBe(true);
      expect(row.map(({ act }) => act)).toEqual(row.map(({ act }) => act).sort((a, b) => b - a));
    }
    expect(featureActivations(model, sae, greedy().ids, { topK: 0 }).top.every((row) => row.length === 0)).toBe(true);
  });
});

/** Folded and raw logit weights of stories260K's reference SAE, from tests/reference/folded_logit_weights.py. */
interface FoldedReference {
  features: number[];
  folded: Record<string, { top10: [number, number][]; bottom10: [number, number][] }>;
  raw: Record<string, { top10: [number, number][]; bottom10: [number, number][] }>;
}

describe('logit weights', () => {
  it('fold the final RMSNorm into W_U by default, matching the independent numpy reference', async () => {
    const reference: FoldedReference = JSON.parse(
      await fs.readFile(path.join(__dirname, '../reference/stories260K-folded-logit-weights.json'), 'utf8'),
    );
    for (const f of reference.features) {
      for (const [convention, weights] of [
        ['folded', logitWeights(model, sae, f, 10)],
        ['raw', logitWeights(model, sae, f, 10, { foldLn: false })],
      ] as const) {
        const want = reference[convention][f];
        const where = `feature ${f} ${convention}`;
        expect(weights.top.map((w) => w.id), `${where} top`).toEqual(want.top10.map(([id]) => id));
        expect(weights.bottom.map((w) => w.id), `${where} bottom`).toEqual(want.bottom10.map(([id]) => id));
        expect(mismatch(weights.top.map((w) => w.value), want.top10.map(([, v]) => v), `${where} top`)).toBe('');
        expect(mismatch(weights.bottom.map((w) => w.value), want.bottom10.map(([, v]) => v), `${where} bottom`)).toBe('');
      }
    }
    // the two conventions order most features' top 10 differently, so the test tells them apart
    const ids = (list: [number, number][]) => list.map(([id]) => id).join();
    const differing = reference.features.filter((f) => ids(reference.folded[f].top10) !== ids(reference.raw[f].top10));
    expect(differing.length).toBeGreaterThan(reference.features.length / 2);
  });

  it("fold GPT-2's final LayerNorm as TransformerLens does: W_U scaled by ln_f.weight, then its columns centred", async () => {
    const gpt2 = await loadModel(path.join(FIXTURES_DIR, 'gpt2-tiny-a'));
    const { dModel, vocabSize } = gpt2.config;
    const random = seededRandom(5);
    const cfg = parseSaeConfig({ architecture: 'standard', d_in: dModel, d_sae: 2, apply_b_dec_to_input: false, hook_name: 'blocks.1.hook_resid_post' });
    const W_dec = gaussian(random, 2 * dModel);
    const gpt2Sae = createSae(cfg, {
      W_enc: tf.tensor2d(gaussian(random, dModel * 2), [dModel, 2]),
      W_dec: tf.tensor2d(W_dec, [2, dModel]),
      b_enc: tf.zeros([2]),
      b_dec: tf.zeros([dModel]),
    });
    try {
      // in float64, on W_U itself: W_U' = diag(w)·W_U, minus each column's mean over d_model
      const W_U = gpt2.unembed.arraySync();
      const w = gpt2.finalNorm.weight.arraySync();
      const logits = Array.from({ length: vocabSize }, (_, v) => {
        const column = W_U.map((row, i) => w[i] * row[v]);
        const columnMean = column.reduce((a, b) => a + b, 0) / dModel;
        return column.reduce((sum, x, i) => sum + W_dec[dModel + i] * (x - columnMean), 0);
      });
      const order = logits.map((_, v) => v).sort((a, b) => logits[b] - logits[a]);
      const { top, bottom } = logitWeights(gpt2, gpt2Sae, 1, 5);
      expect(top.map((t) => t.id)).toEqual(order.slice(0, 5));
      expect(bottom.map((t) => t.id)).toEqual(order.slice(-5).reverse());
      expect(mismatch(top.map((t) => t.value), order.slice(0, 5).map((v) => logits[v]), 'gpt2 folded top')).toBe('');
    } finally {
      gpt2Sae.dispose();
      gpt2.dispose();
    }
  });

  it('match the fixture top 10 and bottom 10 of every chosen feature (raw W_dec·W_U, as the fixture defines them)', () => {
    for (const f of fixture.chosen_features) {
      const { top, bottom } = logitWeights(model, sae, f, 10, { foldLn: false });
      const want = fixture.logit_weights[f];
      expect(top.map((w) => w.id), `feature ${f} top`).toEqual(want.top10.map(([id]) => id));
      expect(bottom.map((w) => w.id), `feature ${f} bottom`).toEqual(want.bottom10.map(([id]) => id));
      expect(mismatch(top.map((w) => w.value), want.top10.map(([, v]) => v), `feature ${f} top`)).toBe('');
      expect(mismatch(bottom.map((w) => w.value), want.bottom10.map(([, v]) => v), `feature ${f} bottom`)).toBe('');
      expect(top[0].piece).toBe(model.tokenizer.piece(top[0].id));
    }
  });

  it('are computed for all features in chunks, each feature as when asked for alone', () => {
    const chunks: FeatureLogitWeights[][] = [...allLogitWeights(model, sae, { k: 5, chunkSize: 100 })];
    expect(chunks.map((chunk) => chunk.length)).toEqual([100, 100, 56]);
    chunks.flat().forEach((weights, f) => {
      expect(weights.feature).toBe(f);
      const alone = logitWeights(model, sae, f, 5);
      expect(weights.top.map((w) => w.id)).toEqual(alone.top.map((w) => w.id));
      expect(mismatch(weights.bottom.map((w) => w.value), alone.bottom.map((w) => w.value), `feature ${f}`)).toBe('');
    });
  });

  it('map an mlp.hook_post SAE through the MLP output weights first', () => {
    const { dMlp, dModel, vocabSize } = model.config;
    const random = seededRandom(3);
    const cfg = parseSaeConfig({ architecture: 'standard', d_in: dMlp, d_sae: 4, apply_b_dec_to_input: false, hook_name: 'blocks.1.mlp.hook_post' });
    const W_dec = gaussian(random, 4 * dMlp);
    const mlpSae = createSae(cfg, {
      W_enc: tf.tensor2d(gaussian(random, dMlp * 4), [dMlp, 4]),
      W_dec: tf.tensor2d(W_dec, [4, dMlp]),
      b_enc: tf.zeros([4]),
      b_dec: tf.zeros([dMlp]),
    });
    try {
      // W_dec[2] · W_out · W_U in float64
      const W_out = model.mlpOut(1).arraySync();
      const W_U = model.unembed.arraySync();
      const residual = Array.from({ length: dModel }, (_, j) => W_out.reduce((sum, row, i) => sum + W_dec[2 * dMlp + i] * row[j], 0));
      const logits = Array.from({ length: vocabSize }, (_, v) => residual.reduce((sum, r, j) => sum + r * W_U[j][v], 0));
      const order = logits.map((_, v) => v).sort((a, b) => logits[b] - logits[a]);

      const { top, bottom } = logitWeights(model, mlpSae, 2, 5, { foldLn: false });
      expect(top.map((w) => w.id)).toEqual(order.slice(0, 5));
      expect(bottom.map((w) => w.id)).toEqual(order.slice(-5).reverse());
      expect(mismatch(top.map((w) => w.value), order.slice(0, 5).map((v) => logits[v]), 'mlp top')).toBe('');
    } finally {
      mlpSae.dispose();
    }
  });
});

describe('ablation', () => {
  it('matches the fixture losses and most decreased logits of zero-ablating its feature at every position', () => {
    const { feature, sequences } = fixture.ablation;
    sequences.forEach((want, i) => {
      const seq = fixture.sequences[i];
      expect(want.name).toBe(seq.name);
      const result = ablateFeature(model, sae, seq.ids, feature, { top: 5 });
      expect(result.acts.flatMap((a, t) => (a > 0 ? [t] : []))).toEqual(want.feature_fires_at);
      expect(mismatch(result.lossClean, want.clean_loss, `${seq.name} clean loss`, LOSS_ATOL, 0)).toBe('');
      expect(mismatch(result.lossAblated, want.ablated_loss, `${seq.name} ablated loss`, LOSS_ATOL, 0)).toBe('');
      const decreased = want.last_position_most_decreased_logits;
      expect(result.logitDeltas.map((d) => d.id)).toEqual(decreased.map(([id]) => id));
      expect(mismatch(result.logitDeltas.map((d) => d.delta), decreased.map(([, d]) => d), `${seq.name} logit deltas`)).toBe('');
      expect(result.kl).toHaveLength(seq.n_tokens);
    });
  });

  it('leaves every position before the first ablated one unchanged (KL 0, same loss)', () => {
    const feature = fixture.chosen_features[0];
    const result = ablateFeature(model, sae, greedy().ids, feature, { positions: [20, 10] });
    expect(result.acts[10]).toBeGreaterThan(0);
    for (let t = 0; t < 10; t++) {
      expect(result.kl[t], `position ${t}`).toBeLessThan(UNCHANGED);
      expect(Math.abs(result.lossAblated[t] - result.lossClean[t]), `position ${t}`).toBeLessThan(UNCHANGED);
    }
    expect(result.kl[10]).toBeGreaterThan(1e-6);
  });

  it('changes nothing when clamping a feature to its own activation, or zeroing it where it does not fire', () => {
    const feature = fixture.chosen_features[0];
    const { acts } = ablateFeature(model, sae, greedy().ids, feature);
    const silent = acts.findIndex((a) => a === 0);
    expect(silent).toBeGreaterThan(0);
    for (const result of [
      ablateFeature(model, sae, greedy().ids, feature, { positions: [3], mode: 'clamp', value: acts[3] }),
      ablateFeature(model, sae, greedy().ids, feature, { positions: [silent] }),
    ]) {
      expect(Math.max(...result.kl)).toBeLessThan(UNCHANGED);
      expect(mismatch(result.lossAblated, result.lossClean, 'loss', UNCHANGED, 0)).toBe('');
      expect(Math.max(...result.logitDeltas.map((d) => Math.abs(d.delta)))).toBeLessThan(1e-5);
    }
    const clamped = ablateFeature(model, sae, greedy().ids, feature, { positions: [3], mode: 'clamp', value: acts[3] + 5 });
    expect(clamped.kl[3]).toBeGreaterThan(1e-4);
    expect(Math.max(...clamped.kl.slice(0, 3))).toBeLessThan(UNCHANGED);
  });
});

describe('steering', () => {
  it('at c = 0 gives the clean loss, in a batch of coefficients as alone', () => {
    const feature = fixture.chosen_features[0];
    fixture.sequences.forEach((seq, i) => {
      const clean = mean(fixture.ablation.sequences[i].clean_loss);
      const scan = steer(model, sae, seq.ids, feature, { coefficients: [-3, 0, 3], targetToken: 385 });
      const alone = steer(model, sae, seq.ids, feature, { coefficients: [0], targetToken: 385 });
      expect(Math.abs(scan.results[1].loss! - clean)).toBeLessThan(LOSS_ATOL);
      expect(Math.abs(alone.results[0].loss! - clean)).toBeLessThan(LOSS_ATOL);
      expect(close(scan.results[1].targetLogit!, alone.results[0].targetLogit!)).toBe(true);
      expect(scan.results[0].loss).not.toBeCloseTo(clean, 3);
    });
  });

  it("moves the feature's top logit-weight token's logit up with c", () => {
    // Later blocks and the final RMSNorm make the logit a nonlinear function of c: across the scan it rises from
    // c = −10 to c = 10 for every chosen feature, and for feature 8 it rises at every step on every sequence.
    for (const feature of fixture.chosen_features) {
      const target = logitWeights(model, sae, feature, 1).top[0].id;
      for (const seq of fixture.sequences) {
        const { results, target: reported } = steer(model, sae, seq.ids, feature, { coefficients: coefficientScan, targetToken: target });
        expect(reported).toEqual({ id: target, piece: model.tokenizer.piece(target) });
        const logits = results.map((r) => r.targetLogit!);
        expect(logits[20], `feature ${feature} ${seq.name}`).toBeGreaterThan(logits[0]);
        if (feature === 8) expect(logits.every((v, i) => i === 0 || v > logits[i - 1]), `${seq.name}: ${logits}`).toBe(true);
      }
    }
  });

  it('lists the most likely next tokens at the last position with their probabilities', () => {
    const { results } = steer(model, sae, greedy().ids, 8, { coefficients: [0, 10], top: 4 });
    for (const { top, targetLogit } of results) {
      expect(top).toHaveLength(4);
      expect(top.map((c) => c.prob)).toEqual(top.map((c) => c.prob).sort((a, b) => b - a));
      expect(top.reduce((sum, c) => sum + c.prob, 0)).toBeLessThanOrEqual(1 + 1e-6);
      expect(targetLogit).toBeNull();
    }
  });
});

describe('composed directions', () => {
  it('of a single feature equal that feature, for logit weights, activations and steering', () => {
    const [f] = fixture.chosen_features;
    for (const compose of ['mean', 'sum'] as const) {
      expect(logitWeights(model, sae, { features: [f], compose }, 10)).toEqual(logitWeights(model, sae, f, 10));
      const { features, composed } = featureActivations(model, sae, greedy().ids, { features: [f], composed: { features: [f], compose } });
      expect(mismatch(composed!.act, features[f], `${compose} probe`, 1e-5, 1e-5)).toBe('');
      expect(composed!.act).toEqual(composed!.pre.map((p) => Math.max(0, p)));
      const single = steer(model, sae, greedy().ids, f, { coefficients: [4], targetToken: 385 });
      expect(steer(model, sae, greedy().ids, { features: [f], compose }, { coefficients: [4], targetToken: 385 })).toEqual(single);
    }
  });

  it('of several features use the mean (or sum) of their decoder rows, and probe with their encoder columns', () => {
    const features = fixture.chosen_features.slice(0, 3);
    const [W_enc, W_dec, W_U] = [sae.weights.W_enc, sae.weights.W_dec, model.unembed].map((t) => t.arraySync());
    const [b_enc, b_dec] = [sae.weights.b_enc!, sae.weights.b_dec].map((t) => t.arraySync());
    // logit weights of the mean decoder row, in float64
    const direction = W_dec[0].map((_, i) => mean(features.map((f) => W_dec[f][i])));
    const logits = W_U[0].map((_, v) => direction.reduce((sum, d, i) => sum + d * W_U[i][v], 0));
    const order = logits.map((_, v) => v).sort((a, b) => logits[b] - logits[a]);
    const { top } = logitWeights(model, sae, { features, compose: 'mean' }, 10, { foldLn: false });
    expect(top.map((w) => w.id)).toEqual(order.slice(0, 10));
    expect(mismatch(top.map((w) => w.value), order.slice(0, 10).map((v) => logits[v]), 'composed top')).toBe('');
    const summed = logitWeights(model, sae, { features, compose: 'sum' }, 10, { foldLn: false });
    expect(mismatch(summed.top.map((w) => w.value), top.map((w) => 3 * w.value), 'sum = 3 × mean')).toBe('');

    // the sum probe is the sum of the features' pre-activations (x − b_dec)·W_enc[:, f] + b_enc[f]
    const seq = greedy();
    const { composed } = featureActivations(model, sae, seq.ids, { composed: { features, compose: 'sum' } });
    const expected = seq.hook_in.map((x) =>
      features.reduce((sum, f) => sum + b_enc[f] + x.reduce((dot, xi, i) => dot + (xi - b_dec[i]) * W_enc[i][f], 0), 0));
    expect(mismatch(composed!.pre, expected, 'sum probe')).toBe('');
    expect(composed!.pre.some((p) => p < 0)).toBe(true);
    expect(composed!.act).toEqual(composed!.pre.map((p) => Math.max(0, p)));
  });
});

describe('feature stats', () => {
  it('agree with a direct computation for every feature, with cosines in [-1, 1]', () => {
    const stats = featureStats(sae);
    expect(stats).toHaveLength(sae.dSae);
    const [W_enc, W_dec] = [sae.weights.W_enc, sae.weights.W_dec].map((t) => t.arraySync());
    const b_enc = sae.weights.b_enc!.arraySync();
    stats.forEach((s, f) => {
      const enc = W_enc.map((row) => row[f]);
      const dot = enc.reduce((sum, e, i) => sum + e * W_dec[f][i], 0);
      const [encNorm, decNorm] = [Math.hypot(...enc), Math.hypot(...W_dec[f])];
      expect(s.feature).toBe(f);
      expect(mismatch([s.encoderBias, s.encoderNorm, s.decoderNorm, s.deDot, s.deCos], [b_enc[f], encNorm, decNorm, dot, dot / (encNorm * decNorm)], `feature ${f}`, 1e-5, 1e-5)).toBe('');
      expect(Math.abs(s.deCos)).toBeLessThanOrEqual(1);
      expect(s.decoderNorm).toBeCloseTo(1, 5); // the fixture SAE has unit-norm decoder rows
    });
    expect(featureStats(sae, [200, 3])).toEqual([stats[200], stats[3]]);
  });
});

describe('input checks', () => {
  const analyses = (target: Sae, feature = 0): [string, () => unknown][] => [
    ['activations', () => featureActivations(model, target, greedy().ids, { features: [feature] })],
    ['logit weights', () => logitWeights(model, target, feature)],
    ['ablation', () => ablateFeature(model, target, greedy().ids, feature)],
    ['steering', () => steer(model, target, greedy().ids, feature, { coefficients: [1] })],
  ];

  it('reject an SAE whose hook the model does not have', async () => {
    const bogus = await loadSae(await writeUnknownHookSae(path.join(tmp, 'unknown-hook')));
    try {
      for (const [name, run] of analyses(bogus)) {
        expect(run, name).toThrow(InputError);
        expect(run, name).toThrow('SAE hook "blocks.9.hook_resid_post" (cfg.json hook_name) does not exist in this model');
      }
    } finally {
      bogus.dispose();
    }
  });

  it("reject an SAE whose d_in is not the hook's width", async () => {
    const narrow = await loadSae(await writeNarrowSae(path.join(tmp, 'narrow')));
    try {
      for (const [name, run] of analyses(narrow)) {
        expect(run, name).toThrow('SAE d_in = 32 does not match the width of "blocks.2.hook_resid_post" in this model (d_model = 64)');
      }
    } finally {
      narrow.dispose();
    }
  });

  it('reject a feature out of range, a bad composition and bad token ids', () => {
    for (const [name, run] of analyses(sae, 256)) expect(run, name).toThrow('feature 256 is out of range: this SAE has features 0..255');
    expect(() => featureStats(sae, [0, -1])).toThrow('feature -1 is out of range');
    expect(() => logitWeights(model, sae, { features: [], compose: 'mean' })).toThrow('a composed direction needs at least one feature');
    expect(() => logitWeights(model, sae, { features: [3, 3], compose: 'sum' })).toThrow('feature 3 is listed twice');
    expect(() => featureActivations(model, sae, [1, 512])).toThrow('token id 512 at [0][1] is outside the vocabulary 0..511');
    expect(() => ablateFeature(model, sae, [], 0)).toThrow('empty input');
    const tooLong = new Array<number>(model.config.contextLength + 1).fill(1);
    expect(() => steer(model, sae, tooLong, 0, { coefficients: [1] })).toThrow(`is longer than the model's context of ${model.config.contextLength}`);
  });

  it('reject empty and oversized prompts, and bad ablation and steering options', () => {
    expect(() => prepareInput(model, { text: '' })).toThrow('the prompt is empty');
    expect(() => prepareInput(model, { text: 'a'.repeat(model.config.contextLength * 64 + 1) })).toThrow(/characters long/);
    const ids = greedy().ids;
    expect(() => ablateFeature(model, sae, ids, 0, { positions: [25] })).toThrow('position 25 is out of range: the input has positions 0..24');
    expect(() => ablateFeature(model, sae, ids, 0, { mode: 'clamp' })).toThrow('clamping needs a finite value');
    expect(() => ablateFeature(model, sae, ids, 0, { value: 2 })).toThrow('a value is only used with mode clamp');
    expect(() => steer(model, sae, ids, 0, { coefficients: [] })).toThrow('give from 1 to 1000 coefficients, got 0');
    expect(() => steer(model, sae, ids, 0, { coefficients: [1], targetToken: 600 })).toThrow('target token 600 is out of range');
  });
});

describe('memory', () => {
  it('stays flat over repeated calls of every analysis', () => {
    const ids = greedy().ids;
    const f = fixture.chosen_features[0];
    const runAll = () => {
      featureActivations(model, sae, ids, { features: [f], composed: { features: [f, 8], compose: 'mean' } });
      logitWeights(model, sae, { features: [f, 8], compose: 'sum' });
      for (const chunk of allLogitWeights(model, sae, { chunkSize: 64 })) expect(chunk.length).toBe(64);
      ablateFeature(model, sae, ids, f, { positions: [2, 5] });
      ablateFeature(model, sae, ids, f, { mode: 'clamp', value: 1 });
      steer(model, sae, ids, { features: [f, 8], compose: 'mean' }, { coefficients: [-1, 0, 1], targetToken: 385 });
      featureStats(sae);
      expect(() => ablateFeature(model, sae, ids, f, { positions: [99] })).toThrow(InputError);
    };
    runAll();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) runAll();
    expect(tf.memory().numTensors).toBe(before);
  });
});
