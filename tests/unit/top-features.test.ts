/**
 * Search by inference on the real stories260K model and the SAELens fixture SAE: the features that fire most on a
 * text, checked against the per-feature activations (featureActivations) of every feature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureActivations } from '@/compute/analyses/activations';
import { prepareInput } from '@/compute/analyses/predict';
import { topFeatures } from '@/compute/analyses/top-features';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { loadSae } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';
import { STORIES_DIR } from '../shared';
import { SAE_DIR } from './analyses-helpers';

const TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play with her ball.';

let model: LanguageModel;
let sae: Sae;
let ids: number[];
/** every feature's activation at every token, as "Test your text" computes it */
let all: Record<string, number[]>;

beforeAll(async () => {
  await initBackend();
  [model, sae] = await Promise.all([loadModel(STORIES_DIR), loadSae(SAE_DIR)]);
  ids = prepareInput(model, { text: TEXT });
  all = featureActivations(model, sae, ids, { features: Array.from({ length: sae.dSae }, (_, f) => f), topK: 0 }).features;
});
afterAll(() => {
  sae?.dispose();
  model?.dispose();
});

/** the firing features ranked by their max or sum over `positions` from the per-feature activations, best first */
function ranked(positions: number[], rank: 'max' | 'sum'): number[] {
  return Object.entries(all)
    .map(([feature, acts]) => {
      const at = positions.map((p) => acts[p]!);
      return { feature: Number(feature), max: Math.max(...at), score: rank === 'max' ? Math.max(...at) : at.reduce((a, b) => a + b, 0) };
    })
    .filter((f) => f.max > 0)
    .sort((a, b) => b.score - a.score || a.feature - b.feature)
    .map((f) => f.feature);
}

describe('topFeatures', () => {
  it('lists the features with the largest maxima, with the same maxima, peaks and firing counts as the per-feature activations', () => {
    const found = topFeatures(model, sae, ids, { top: 10, ignoreBos: false });
    expect(found.tokens).toEqual(ids);
    expect(found.pieces).toHaveLength(ids.length);
    expect(found.positions).toEqual(ids.map((_, p) => p));
    expect(found.features).toHaveLength(10);
    for (const f of found.features) {
      const acts = all[String(f.feature)]!;
      expect(f.maxAct).toBe(Math.max(...acts));
      expect(f.position).toBe(acts.indexOf(f.maxAct));
      expect(f.firing).toBe(acts.filter((a) => a > 0).length);
      expect(f.acts).toEqual(acts);
    }
    expect(found.features.map((f) => f.feature)).toEqual(ranked(ids.map((_, p) => p), 'max').slice(0, 10));
  });

  it('ignores BOS by default: the scores and peaks come from the text tokens only, the activations still cover BOS', () => {
    expect(ids[0]).toBe(model.tokenizer.bosId);
    const text = ids.map((_, p) => p).slice(1);
    const found = topFeatures(model, sae, ids, { top: 10 });
    expect(found.positions).toEqual(text);
    expect(found.features.map((f) => f.feature)).toEqual(ranked(text, 'max').slice(0, 10));
    for (const f of found.features) {
      const acts = all[String(f.feature)]!;
      expect(f.position).toBeGreaterThan(0);
      expect(f.maxAct).toBe(Math.max(...text.map((p) => acts[p]!)));
      expect(f.acts).toHaveLength(ids.length);
    }
    // a feature that peaks at BOS ranks differently once BOS is left out
    expect(ranked(text, 'max')).not.toEqual(ranked(ids.map((_, p) => p), 'max'));
  });

  it('ranks by the sum over chosen positions, and counts maxima, peaks and firing over those positions only', () => {
    const chosen = [3, 5, 8];
    const found = topFeatures(model, sae, ids, { top: 10, rank: 'sum', positions: [8, 3, 5, 3] });
    expect(found.positions).toEqual(chosen);
    expect(found.features.map((f) => f.feature)).toEqual(ranked(chosen, 'sum').slice(0, 10));
    for (const f of found.features) {
      const acts = all[String(f.feature)]!;
      const at = chosen.map((p) => acts[p]!);
      expect(f.sum).toBeCloseTo(at.reduce((a, b) => a + b, 0), 4);
      expect(f.maxAct).toBe(Math.max(...at));
      expect(f.position).toBe(chosen[at.indexOf(f.maxAct)]);
      expect(f.firing).toBe(at.filter((a) => a > 0).length);
    }
    // summing ranks some features differently from the maximum over the same positions
    expect(ranked(chosen, 'sum').slice(0, 10)).not.toEqual(ranked(chosen, 'max').slice(0, 10));
  });

  it('refuses positions outside the text, and a choice of BOS alone when BOS is ignored', () => {
    expect(() => topFeatures(model, sae, ids, { positions: [ids.length] })).toThrow(`position ${ids.length} is not a token of the text (it has ${ids.length} tokens`);
    expect(() => topFeatures(model, sae, ids, { positions: [0] })).toThrow('no token positions left to rank over');
    expect(topFeatures(model, sae, ids, { positions: [0], ignoreBos: false }).positions).toEqual([0]);
  });

  it('leaves out features that do not fire, so a large top lists only firing ones', () => {
    const firing = Object.values(all).filter((acts) => acts.some((a) => a > 0)).length;
    expect(firing).toBeLessThan(sae.dSae); // the fixture SAE has features silent on this text
    const found = topFeatures(model, sae, ids, { top: sae.dSae, ignoreBos: false });
    expect(found.features).toHaveLength(firing);
    expect(found.features.every((f) => f.maxAct > 0 && f.firing > 0)).toBe(true);
  });

  it('refuses a top that is not a positive integer', () => {
    expect(() => topFeatures(model, sae, ids, { top: 0 })).toThrow(InputError);
    expect(() => topFeatures(model, sae, ids, { top: 0 })).toThrow('top must be a positive integer, got 0');
  });
});
