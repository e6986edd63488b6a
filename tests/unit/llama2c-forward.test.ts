import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyContinuation, predict } from '@/compute/analyses/predict';
import { initBackend } from '@/compute/backend';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { FIXTURES_DIR, STORIES_DIR } from '../shared';

// stories260K/README.md: llama2.c run.c's own outputs
const README_TOP5_AFTER_BOS = [[403, 17.0235], [385, 15.4062], [410, 13.1083], [317, 12.7692], [407, 12.4181]];
const README_GREEDY = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292];
const README_TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

const HOOK = 'blocks.2.hook_resid_post';
interface FixtureSequence { name: string; ids: number[]; hook_in: number[][] }
const fixture = JSON.parse(
  readFileSync(path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard/expected.json'), 'utf8'),
) as { sequences: FixtureSequence[] };

let model: LanguageModel;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
});

afterAll(() => model?.dispose());

/** Runs `forward` and returns [batch][pos][vocab] logits, disposing everything. */
function logits(ids: number[][], options = {}): number[][][] {
  const { logits, cache } = model.forward(ids, options);
  tf.dispose([...cache.values()]);
  const values = logits!.arraySync();
  logits!.dispose();
  return values;
}

function capture(ids: number[][], name: string, options = {}): number[][][] {
  const { logits, cache } = model.forward(ids, { capture: [name], ...options });
  logits?.dispose();
  const values = (cache.get(name) as tf.Tensor3D).arraySync();
  tf.dispose([...cache.values()]);
  return values;
}

function expectClose(actual: number[][], expected: number[][]): void {
  let worst = 0;
  expected.forEach((row, t) => row.forEach((b, d) => {
    worst = Math.max(worst, Math.abs(actual[t][d] - b) - (1e-4 + 1e-4 * Math.abs(b)));
  }));
  expect(worst).toBeLessThanOrEqual(0);
}

describe('stories260K forward pass against llama2.c', () => {
  it('reads the checkpoint config', () => {
    expect(model.config).toMatchObject({
      architecture: 'llama', dModel: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, dMlp: 172, vocabSize: 512, contextLength: 512,
    });
    expect(model.hookNames).toHaveLength(1 + 5 * 16 + 1);
    expect(model.unembed.shape).toEqual([64, 512]);
    expect(model.mlpOut(4).shape).toEqual([172, 64]);
  });

  it('gives the documented top-5 logits after BOS', () => {
    const row = logits([[1]])[0][0];
    const top5 = row.map((logit, id) => [id, logit]).sort((a, b) => b[1] - a[1]).slice(0, 5);
    top5.forEach(([id, logit], k) => {
      expect(id).toBe(README_TOP5_AFTER_BOS[k][0]);
      expect(Math.abs(logit - README_TOP5_AFTER_BOS[k][1])).toBeLessThan(1e-3);
    });
  });

  it('reproduces the documented greedy decode from BOS', () => {
    const ids = [1, ...greedyContinuation(model, [1], README_GREEDY.length - 1)];
    expect(ids).toEqual(README_GREEDY);
    const long = model.tokenizer.decode([1, ...greedyContinuation(model, [1], 40)]);
    expect(long.startsWith(README_TEXT)).toBe(true);
  });

  it('predict lists sorted probabilities and continues greedily', () => {
    const result = predict(model, [1, 403], { top: 3, generate: 3 });
    expect(result.pieces).toEqual(['\n<s>\n', ' Once']);
    expect(result.top[0].map((c) => c.id)).toEqual([403, 385, 410]);
    expect(result.top[1][0].piece).toBe(' upon');
    expect(result.generated).toEqual([407, 261, 378]);
  });
});

describe('hook points', () => {
  for (const seq of fixture.sequences) {
    it(`${HOOK} matches the numpy reference for ${seq.name}`, () => {
      expectClose(capture([seq.ids], HOOK)[0], seq.hook_in);
    });
  }

  it('stopAt returns the same activations and no logits', () => {
    const seq = fixture.sequences[1];
    const { logits, cache } = model.forward([seq.ids], { capture: [HOOK], stopAt: HOOK });
    expect(logits).toBeUndefined();
    expectClose((cache.get(HOOK) as tf.Tensor3D).arraySync()[0], seq.hook_in);
    tf.dispose([...cache.values()]);
  });

  it('stopAt stops before later hooks run', () => {
    const seen: string[] = [];
    const hooks = Object.fromEntries(model.hookNames.map((name) => [name, () => void seen.push(name)]));
    const { logits } = model.forward([[1, 403]], { hooks, stopAt: 'blocks.1.hook_attn_out' });
    expect(logits).toBeUndefined();
    expect(seen.at(-1)).toBe('blocks.1.hook_attn_out');
    expect(seen).toEqual(model.hookNames.slice(0, seen.length));
  });

  it('exposes the SwiGLU product at mlp.hook_post, of width dMlp', () => {
    expect(capture([[1, 403, 407]], 'blocks.0.mlp.hook_post')[0][0]).toHaveLength(172);
  });

  it('a replacing hook changes the logits; adding zeros does not', () => {
    const ids = [fixture.sequences[0].ids.slice(0, 10)];
    const clean = logits(ids);
    const zeroed = logits(ids, { hooks: { [HOOK]: (act: tf.Tensor3D) => tf.zerosLike(act) } });
    const plusZero = logits(ids, { hooks: { [HOOK]: (act: tf.Tensor3D) => tf.add(act, tf.zerosLike(act)) } });
    const maxDiff = (a: number[][][], b: number[][][]) =>
      Math.max(...a[0].flatMap((row, t) => row.map((v, i) => Math.abs(v - b[0][t][i]))));
    expect(maxDiff(zeroed, clean)).toBeGreaterThan(1);
    expect(maxDiff(plusZero, clean)).toBe(0);
  });

  it('a batch of two gives the same as two single runs', () => {
    const [a, b] = fixture.sequences.slice(1, 3).map((s) => s.ids);
    const batch = logits([a, b]);
    const singles = [logits([a])[0], logits([b])[0]];
    batch.forEach((rows, i) => rows.forEach((row, t) => row.forEach((v, k) => {
      expect(Math.abs(v - singles[i][t][k])).toBeLessThan(1e-4);
    })));
  });
});

describe('memory', () => {
  it('keeps the number of tensors flat over 20 forward passes', () => {
    const ids = [fixture.sequences[1].ids];
    logits(ids); // warm-up: backends may allocate once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const { logits, cache } = model.forward(ids, { capture: [HOOK, 'blocks.3.hook_resid_pre'] });
      tf.dispose([logits!, ...cache.values()]);
    }
    model.forward(ids, { stopAt: HOOK });
    expect(tf.memory().numTensors).toBe(before);
  });
});
