/** The key/value-cache decoder of the Llama model (used to sample corpora) against the full forward pass. */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { sampleCorpus } from '@/compute/corpus/sample';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { STORIES_DIR } from '../shared';

const README_GREEDY = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292];

let model: LanguageModel;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
});

afterAll(() => model?.dispose());

describe('LlamaModel.decoder', () => {
  it('gives the logits of the full forward pass at every position, and leaks no tensors', () => {
    const ids = [README_GREEDY.slice(0, 16), [1, ...Array.from({ length: 15 }, (_, i) => 5 + 7 * i)]];
    const before = tf.memory().numTensors;
    const { logits } = model.forward(ids);
    const full = logits!.arraySync();
    logits!.dispose();
    const decoder = model.decoder!();
    let maxError = 0;
    for (let t = 0; t < ids[0].length; t++) {
      const step = decoder.step(ids.map((row) => row[t]));
      expect(step).toHaveLength(2 * 512);
      for (let b = 0; b < 2; b++) for (let v = 0; v < 512; v++) maxError = Math.max(maxError, Math.abs(step[b * 512 + v] - full[b][t][v]));
    }
    decoder.dispose();
    expect(maxError).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps selected rows: a dropped sequence does not disturb the others', () => {
    const decoder = model.decoder!();
    const a = README_GREEDY.slice(0, 8);
    const b = [1, 20, 30, 40, 50, 60, 70, 80];
    let last: Float32Array | undefined;
    for (let t = 0; t < a.length; t++) {
      if (t === 4) decoder.select([1]);
      last = decoder.step(t < 4 ? [a[t], b[t]] : [b[t]]);
    }
    decoder.dispose();
    const { logits } = model.forward([b]);
    const expected = (logits!.arraySync() as number[][][])[0][b.length - 1];
    logits!.dispose();
    expect(last).toHaveLength(512);
    expect(Math.max(...expected.map((v, i) => Math.abs(v - last![i])))).toBeLessThan(1e-3);
  });

  it('decodes greedily what llama2.c run.c decodes', () => {
    const decoder = model.decoder!();
    const out = [1];
    while (out.length < README_GREEDY.length) {
      const logits = decoder.step([out[out.length - 1]]);
      out.push(logits.indexOf(Math.max(...logits)));
    }
    decoder.dispose();
    expect(out).toEqual(README_GREEDY);
  });

  it('makes sampling a corpus reproducible whatever the batch size', async () => {
    const one = await sampleCorpus(model, { documents: 6, maxTokens: 48, seed: 5, batchSize: 6 });
    const other = await sampleCorpus(model, { documents: 6, maxTokens: 48, seed: 5, batchSize: 4 });
    expect(other).toEqual(one);
  });
});
