/** The key/value-cache decoders (used to sample corpora) against the full forward pass, for both architectures. */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { sampleCorpus } from '@/compute/corpus/sample';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { STORIES_DIR } from '../shared';
import { GPT2_TINY_DIR } from './gpt2-helpers';

const README_GREEDY = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292];

const models: Record<'llama' | 'gpt2', LanguageModel> = {} as never;

beforeAll(async () => {
  await initBackend();
  models.llama = await loadModel(STORIES_DIR);
  models.gpt2 = await loadModel(GPT2_TINY_DIR);
});

afterAll(() => Object.values(models).forEach((model) => model.dispose()));

/** The logits [batch][pos][vocab] of a full forward pass. */
function forwardLogits(model: LanguageModel, ids: number[][]): number[][][] {
  const { logits } = model.forward(ids);
  const rows = logits!.arraySync();
  logits!.dispose();
  return rows;
}

describe.each([
  // stories260K: grouped-query attention (8 heads over 4 kv heads) and RoPE; gpt2-tiny-a: learned positions
  { name: 'llama' as const, ids: [README_GREEDY.slice(0, 16), [1, ...Array.from({ length: 15 }, (_, i) => 5 + 7 * i)]] },
  { name: 'gpt2' as const, ids: [[464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 383, 3290], Array.from({ length: 12 }, (_, i) => 100 + 997 * i)] },
])('the $name decoder', ({ name, ids }) => {
  it('gives the logits of the full forward pass at every position, token by token, and leaks no tensors', () => {
    const model = models[name];
    const vocab = model.config.vocabSize;
    const before = tf.memory().numTensors;
    const full = forwardLogits(model, ids);
    const decoder = model.decoder();
    let maxError = 0;
    let maxLogit = 0;
    for (let t = 0; t < ids[0].length; t++) {
      const step = decoder.step(ids.map((row) => row[t]));
      expect(step).toHaveLength(2 * vocab);
      for (let b = 0; b < 2; b++) {
        for (let v = 0; v < vocab; v++) {
          maxError = Math.max(maxError, Math.abs(step[b * vocab + v] - full[b][t][v]));
          maxLogit = Math.max(maxLogit, Math.abs(full[b][t][v]));
        }
      }
    }
    decoder.dispose();
    expect(maxLogit).toBeGreaterThan(1);
    expect(maxError).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps selected rows: a dropped sequence does not disturb the others', () => {
    const model = models[name];
    const decoder = model.decoder();
    const [a, b] = ids.map((row) => row.slice(0, 8));
    let last: Float32Array | undefined;
    for (let t = 0; t < a.length; t++) {
      if (t === 4) decoder.select([1]);
      last = decoder.step(t < 4 ? [a[t], b[t]] : [b[t]]);
    }
    decoder.dispose();
    const expected = forwardLogits(model, [b])[0][b.length - 1];
    expect(last).toHaveLength(model.config.vocabSize);
    expect(Math.max(...expected.map((v, i) => Math.abs(v - last![i])))).toBeLessThan(1e-3);
  });

  it('rejects a step with another number of sequences, and one past the context, and stays usable', () => {
    const model = models[name];
    const decoder = model.decoder();
    decoder.step([ids[0][0], ids[1][0]]);
    expect(() => decoder.step([ids[0][1]])).toThrow(new InputError('decoder holds 2 sequences, got 1 tokens'));
    for (let t = 1; t < model.config.contextLength; t++) decoder.step([ids[0][t % ids[0].length], ids[1][t % ids[1].length]]);
    expect(() => decoder.step([ids[0][0], ids[1][0]])).toThrow(`cannot decode past the model's context length ${model.config.contextLength}`);
    decoder.dispose();
  });
});

describe('the llama decoder on stories260K', () => {
  it('decodes greedily what llama2.c run.c decodes', () => {
    const decoder = models.llama.decoder();
    const out = [1];
    while (out.length < README_GREEDY.length) {
      const logits = decoder.step([out[out.length - 1]]);
      out.push(logits.indexOf(Math.max(...logits)));
    }
    decoder.dispose();
    expect(out).toEqual(README_GREEDY);
  });

  it('makes sampling a corpus reproducible whatever the batch size', async () => {
    const one = await sampleCorpus(models.llama, { documents: 6, maxTokens: 48, seed: 5, batchSize: 6 });
    const other = await sampleCorpus(models.llama, { documents: 6, maxTokens: 48, seed: 5, batchSize: 4 });
    expect(other).toEqual(one);
  });
});
