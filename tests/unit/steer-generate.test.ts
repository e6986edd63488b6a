/** Steered generation on the real stories260K model with the fixture SAE (blocks.2.hook_resid_post). */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logitsWithShift } from '@/compute/analyses/intervene';
import { greedyContinuation } from '@/compute/analyses/predict';
import { generateSteered, type SteerGenerateOptions } from '@/compute/analyses/steer-generate';
import { initBackend } from '@/compute/backend';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { loadSae } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';
import { STORIES_DIR } from '../shared';
import { SAE_DIR } from './analyses-helpers';

let model: LanguageModel;
let sae: Sae;
let prompt: number[];
/** the fixture's feature whose steering lifts its top logit-weight token most steadily (analyses.test.ts) */
const FEATURE = 8;

beforeAll(async () => {
  await initBackend();
  [model, sae] = await Promise.all([loadModel(STORIES_DIR), loadSae(SAE_DIR)]);
  prompt = model.tokenizer.encode('Once upon a time, there was a little girl named Lily.', { bos: true });
});
afterAll(() => {
  sae?.dispose();
  model?.dispose();
});

const options = (over: Partial<SteerGenerateOptions> = {}): SteerGenerateOptions => ({
  steering: [{ direction: FEATURE, strength: 10 }],
  maxTokens: 24,
  temperature: 0,
  seed: 1,
  topK: 5,
  ...over,
});

describe('steered generation', () => {
  it('at strength 0 continues exactly as the default, which is the greedy continuation at temperature 0', async () => {
    for (const temperature of [0, 1]) {
      const { default: plain, steered, steeringNorm } = await generateSteered(model, sae, prompt, options({ steering: [{ direction: FEATURE, strength: 0 }], temperature }));
      expect(steeringNorm).toBe(0);
      expect(steered.tokens).toEqual(plain.tokens);
      expect(steered.logprobs).toEqual(plain.logprobs);
      if (temperature === 0) expect(plain.tokens).toEqual(greedyContinuation(model, prompt, 24));
    }
  });

  it('is determined by the seed: the same seed gives the same tokens, another seed others', async () => {
    const run = (seed: number) => generateSteered(model, sae, prompt, options({ temperature: 1, seed, maxTokens: 32 }));
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(b.default.tokens).toEqual(a.default.tokens);
    expect(b.steered.tokens).toEqual(a.steered.tokens);
    expect(b.steered.logprobs).toEqual(a.steered.logprobs);
    expect(c.default.tokens).not.toEqual(a.default.tokens);
  });

  it('changes the continuation at a large strength, adding the same vector as a full forward pass steered at every position', async () => {
    const { default: plain, steered, steeringNorm } = await generateSteered(model, sae, prompt, options({ steering: [{ direction: FEATURE, strength: 20 }] }));
    expect(steered.tokens).not.toEqual(plain.tokens);
    const row = tf.reshape(tf.slice(sae.weights.W_dec, [FEATURE, 0], [1, -1]), [-1]) as tf.Tensor1D;
    expect(steeringNorm).toBeCloseTo(20 * tf.norm(row).dataSync()[0], 4);
    // the cached decoder's log-probs equal those of one forward pass over prompt + continuation, steered everywhere
    const ids = [...prompt, ...steered.tokens];
    const logits = logitsWithShift(model, sae, [ids], tf.mul(row, 20), [ids.map(() => 1)]);
    const logprobs = tf.logSoftmax(logits).arraySync()[0];
    steered.tokens.forEach((id, i) => expect(steered.logprobs[i]).toBeCloseTo(logprobs[prompt.length - 1 + i][id], 4));
    tf.dispose([row, logits]);
  });

  it('lists the top-k log-probabilities at each generated token, sorted, at most a probability of 1 together', async () => {
    const { steered, default: plain } = await generateSteered(model, sae, prompt, options({ temperature: 1, topK: 6 }));
    for (const c of [plain, steered]) {
      expect(c.top).toHaveLength(c.tokens.length);
      expect(c.pieces).toEqual(c.tokens.map((id) => model.tokenizer.piece(id)));
      c.top.forEach((top, i) => {
        const lps = top.map((t) => t.logprob);
        expect(top).toHaveLength(6);
        expect(lps).toEqual([...lps].sort((x, y) => y - x));
        expect(Math.log(lps.reduce((sum, lp) => sum + Math.exp(lp), 0))).toBeLessThanOrEqual(1e-6);
        expect(lps.every((lp) => lp <= 0)).toBe(true);
        // the drawn token is at most as likely as the likeliest
        expect(c.logprobs[i]).toBeLessThanOrEqual(lps[0]);
      });
    }
  });

  it('sums several features (or a composed direction) with their strengths; normalising divides each decoder row by its norm', async () => {
    const [f, g] = [FEATURE, 3];
    const pair = await generateSteered(model, sae, prompt, options({ steering: [{ direction: f, strength: 6 }, { direction: g, strength: 6 }] }));
    const composed = await generateSteered(model, sae, prompt, options({ steering: [{ direction: { features: [f, g], compose: 'sum' }, strength: 6 }] }));
    expect(composed.steered.tokens).toEqual(pair.steered.tokens);
    expect(composed.steeringNorm).toBeCloseTo(pair.steeringNorm, 4);

    const length = tf.tidy(() => tf.norm(tf.slice(sae.weights.W_dec, [f, 0], [1, -1])).dataSync()[0]);
    const unit = await generateSteered(model, sae, prompt, options({ steering: [{ direction: f, strength: 12 }], normalize: true }));
    const raw = await generateSteered(model, sae, prompt, options({ steering: [{ direction: f, strength: 12 / length }] }));
    expect(unit.steeringNorm).toBeCloseTo(12, 4);
    expect(unit.steered.tokens).toEqual(raw.steered.tokens);
  });

  it('stops at maxTokens and when the model ends the story, each continuation on its own, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const short = await generateSteered(model, sae, prompt, options({ maxTokens: 3, onProgress: (generated) => progress.push(generated) }));
    expect(progress).toEqual([2, 4, 6]);
    expect(short.default.tokens).toHaveLength(3);
    expect(short.default.stop).toBe('max-tokens');
    // seed 1 at temperature 1: the steered story ends (BOS) first, the default one goes on alone to maxTokens
    const long = await generateSteered(model, sae, prompt, options({ maxTokens: 400, temperature: 1 }));
    expect(long.steered.stop).toBe('end');
    expect(long.steered.tokens.length).toBeLessThan(400);
    expect(long.default.stop).toBe('max-tokens');
    expect(long.default.tokens).toHaveLength(400);
    // the default continuation does not depend on the steered one, nor on when it left the batch
    const unsteered = await generateSteered(model, sae, prompt, options({ maxTokens: 400, temperature: 1, steering: [{ direction: FEATURE, strength: 0 }] }));
    expect(long.default.tokens).toEqual(unsteered.default.tokens);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad options with messages naming them', async () => {
    await expect(generateSteered(model, sae, prompt, options({ steering: [] }))).rejects.toThrow('give from 1 to 32 features to steer with, got 0');
    await expect(generateSteered(model, sae, prompt, options({ steering: [{ direction: 999, strength: 1 }] }))).rejects.toThrow('feature 999 is out of range');
    await expect(generateSteered(model, sae, prompt, options({ maxTokens: 0 }))).rejects.toThrow('maxTokens must be an integer from 1 to 512, got 0');
    await expect(generateSteered(model, sae, prompt, options({ temperature: -1 }))).rejects.toThrow('temperature must be a number ≥ 0, got -1');
    await expect(generateSteered(model, sae, prompt, options({ topK: 0 }))).rejects.toThrow('topK must be an integer from 1 to 512, got 0');
  });
});
