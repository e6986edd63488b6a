import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectHookActivations } from '@/workers/analyses/activations-at-hook';
import { initBackend } from '@/workers/backend';
import { buildCorpus } from '@/workers/corpus/build';
import { loadModel } from '@/workers/model/load';
import type { LanguageModel } from '@/workers/model/types';
import { loadSae } from '@/workers/sae/load';
import { writeSaeLensDirectory } from '@/workers/sae/save';
import { trainSae, type SaeParameters, type TrainingProgress, type TrainSaeOptions } from '@/workers/sae/train';
import { STORIES_DIR } from '../shared';
import { makeTempDir } from './sae-helpers';

const STORIES_FILE = fileURLToPath(new URL('./fixtures/short-stories.txt', import.meta.url));
const HOOK = 'blocks.1.hook_resid_post';
const D_IN = 64;
const D_SAE = 256;

let model: LanguageModel;
let tmp: string;
/** stories260K's activations at HOOK on the fixture stories, [n, 64] */
let activations: Float32Array;
let nTokens: number;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
  tmp = await makeTempDir('train-sae');
  const corpus = await buildCorpus(model, { file: STORIES_FILE, contextSize: 64, prependBos: true, maxTokens: 1_000_000 });
  const batches: Float32Array[] = [];
  for await (const rows of collectHookActivations(model, corpus.contexts, HOOK, { batchSize: 8 })) batches.push(rows);
  activations = new Float32Array(batches.reduce((n, b) => n + b.length, 0));
  batches.reduce((offset, b) => (activations.set(b, offset), offset + b.length), 0);
  nTokens = activations.length / D_IN;
});

afterAll(async () => {
  model?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

function train(options: Partial<TrainSaeOptions> = {}) {
  return trainSae({ activations, dIn: D_IN, dSae: D_SAE, architecture: 'standard', batchSize: 512, lr: 3e-3, steps: 300, seed: 1, ...options });
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Feature activations [n, d_sae] of x under the given parameters, as SAELens computes them (standard). */
function standardActs(w: SaeParameters, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    tf.relu(tf.add(tf.matMul(tf.sub(x, tf.tensor1d(w.b_dec)), tf.tensor2d(w.W_enc, [D_IN, D_SAE])), tf.tensor1d(w.b_enc))),
  );
}

describe('trainSae on stories260K activations at blocks.1.hook_resid_post', () => {
  it('has real activations to train on', () => {
    expect(nTokens).toBeGreaterThan(2000);
    expect(activations.every(Number.isFinite)).toBe(true);
  });

  it('lowers the loss and explains most of the variance, with unit-norm decoder rows and no leaked tensors', async () => {
    const before = tf.memory().numTensors;
    const progress: TrainingProgress[] = [];
    const result = await train({ onProgress: (p) => progress.push(p) });
    expect(tf.memory().numTensors).toBe(before);

    expect(progress).toHaveLength(300);
    const first = mean(progress.slice(0, 30).map((p) => p.loss));
    const last = mean(progress.slice(-30).map((p) => p.loss));
    expect(last).toBeLessThan(first / 2);

    const { metrics, weights } = result;
    expect(metrics.nTokens).toBe(nTokens);
    expect(metrics.varianceExplained).toBeGreaterThan(0.5);
    expect(metrics.l0).toBeGreaterThan(1);
    expect(metrics.l0).toBeLessThan(D_SAE / 4);
    for (let f = 0; f < D_SAE; f++) {
      const row = weights.W_dec.subarray(f * D_IN, (f + 1) * D_IN);
      expect(Math.hypot(...row)).toBeCloseTo(1, 4);
    }
  });

  it('is reproducible: the same seed gives identical weights, another seed different ones', async () => {
    const a = await train({ steps: 40 });
    const b = await train({ steps: 40 });
    const c = await train({ steps: 40, seed: 2 });
    for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) expect(b.weights[name]).toEqual(a.weights[name]);
    expect(c.weights.W_dec).not.toEqual(a.weights.W_dec);
  });

  it('writes a SAELens directory that loadSae reads back, encoding exactly as the trained weights', async () => {
    const { weights, metrics } = await train({ steps: 60 });
    const dir = path.join(tmp, 'standard');
    await writeSaeLensDirectory(
      dir,
      weights,
      { architecture: 'standard', modelName: 'stories260K', hookName: HOOK, prependBos: true, contextSize: 64, datasetPath: 'short-stories.txt' },
      metrics.featureDensity,
    );
    const cfg = JSON.parse(await fs.readFile(path.join(dir, 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({
      architecture: 'standard', d_in: 64, d_sae: 256, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true,
      normalize_activations: 'none', reshape_activations: 'none',
      metadata: { model_name: 'stories260K', hook_name: HOOK, hook_head_index: null, prepend_bos: true, context_size: 64, sae_lens_version: '6.0.0' },
    });

    const sae = await loadSae(dir);
    try {
      expect(sae.cfg.architecture).toBe('standard');
      expect(sae.cfg.hookName).toBe(HOOK);
      expect(sae.logSparsity![0]).toBeCloseTo(Math.log10(metrics.featureDensity[0] + 1e-10), 5);
      const x = tf.tensor2d(activations.subarray(0, 200 * D_IN), [200, D_IN]);
      const loaded = sae.encode(x);
      const trained = standardActs(weights, x);
      expect(Array.from(loaded.dataSync())).toEqual(Array.from(trained.dataSync()));
      tf.dispose([x, loaded, trained]);
    } finally {
      sae.dispose();
    }
  });
});

describe('TopK training', () => {
  it('keeps at most k features active per token, in training and in the loaded SAE', async () => {
    const k = 8;
    const progress: TrainingProgress[] = [];
    const { weights, metrics } = await train({ architecture: 'topk', k, steps: 150, onProgress: (p) => progress.push(p) });
    expect(progress.every((p) => p.l0 <= k)).toBe(true);
    expect(metrics.l0).toBeLessThanOrEqual(k);
    expect(metrics.varianceExplained).toBeGreaterThan(0.5);
    expect(mean(progress.slice(-15).map((p) => p.loss))).toBeLessThan(mean(progress.slice(0, 15).map((p) => p.loss)));

    const dir = path.join(tmp, 'topk');
    await writeSaeLensDirectory(dir, weights, {
      architecture: 'topk', k, modelName: 'stories260K', hookName: HOOK, prependBos: true, contextSize: 64, datasetPath: 'short-stories.txt',
    });
    const sae = await loadSae(dir);
    try {
      expect(sae.cfg.k).toBe(k);
      const x = tf.tensor2d(activations.subarray(0, 300 * D_IN), [300, D_IN]);
      const acts = sae.encode(x);
      const values = acts.dataSync();
      for (let row = 0; row < 300; row++) {
        const active = values.subarray(row * D_SAE, (row + 1) * D_SAE).filter((v) => v > 0).length;
        expect(active).toBeLessThanOrEqual(k);
      }
      tf.dispose([x, acts]);
    } finally {
      sae.dispose();
    }
  });
});

describe('dead-feature remedies', () => {
  const DEAD = 64;

  /** A short-trained SAE whose first DEAD features can never fire: their encoder bias is hugely negative. */
  async function withDeadFeatures(architecture: 'standard' | 'topk'): Promise<SaeParameters> {
    const { weights } = await train({ architecture, k: 8, steps: 30 });
    weights.b_enc.fill(-100, 0, DEAD);
    return weights;
  }

  const deadAmongFirst = (density: Float32Array) => density.subarray(0, DEAD).filter((d) => d === 0).length;

  it('resampling re-points dead standard features at badly reconstructed inputs, and they fire again', async () => {
    const init = await withDeadFeatures('standard');
    const untreated = await train({ init, steps: 120, deadFeatureRemedy: 'none' });
    expect(deadAmongFirst(untreated.metrics.featureDensity)).toBe(DEAD);

    const resampled = await train({ init, steps: 120, deadFeatureRemedy: 'resample', deadFeatureWindow: 20 });
    expect(resampled.resampled).toBeGreaterThanOrEqual(DEAD);
    expect(deadAmongFirst(resampled.metrics.featureDensity)).toBeLessThan(DEAD / 4);
    expect(resampled.metrics.varianceExplained).toBeGreaterThan(untreated.metrics.varianceExplained - 0.05);
  });

  it('resampling works for TopK too', async () => {
    const init = await withDeadFeatures('topk');
    const resampled = await train({ architecture: 'topk', k: 8, init, steps: 120, deadFeatureRemedy: 'resample', deadFeatureWindow: 20 });
    expect(deadAmongFirst(resampled.metrics.featureDensity)).toBeLessThan(DEAD / 2);
  });
});
