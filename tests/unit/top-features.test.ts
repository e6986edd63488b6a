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

describe('topFeatures', () => {
  it('lists the features with the largest maxima, with the same maxima, peaks and firing counts as the per-feature activations', () => {
    const found = topFeatures(model, sae, ids, { top: 10 });
    expect(found.tokens).toEqual(ids);
    expect(found.pieces).toHaveLength(ids.length);
    expect(found.features).toHaveLength(10);
    for (const f of found.features) {
      const acts = all[String(f.feature)]!;
      expect(f.maxAct).toBe(Math.max(...acts));
      expect(f.position).toBe(acts.indexOf(f.maxAct));
      expect(f.firing).toBe(acts.filter((a) => a > 0).length);
    }
    // the ten largest maxima of all features, largest first
    const maxima = Object.entries(all)
      .map(([feature, acts]) => ({ feature: Number(feature), maxAct: Math.max(...acts) }))
      .sort((a, b) => b.maxAct - a.maxAct || a.feature - b.feature);
    expect(found.features.map((f) => f.feature)).toEqual(maxima.slice(0, 10).map((m) => m.feature));
  });

  it('leaves out features that do not fire, so a large top lists only firing ones', () => {
    const firing = Object.values(all).filter((acts) => acts.some((a) => a > 0)).length;
    expect(firing).toBeLessThan(sae.dSae); // the fixture SAE has features silent on this text
    const found = topFeatures(model, sae, ids, { top: sae.dSae });
    expect(found.features).toHaveLength(firing);
    expect(found.features.every((f) => f.maxAct > 0 && f.firing > 0)).toBe(true);
  });

  it('refuses a top that is not a positive integer', () => {
    expect(() => topFeatures(model, sae, ids, { top: 0 })).toThrow(InputError);
    expect(() => topFeatures(model, sae, ids, { top: 0 })).toThrow('top must be a positive integer, got 0');
  });
});
