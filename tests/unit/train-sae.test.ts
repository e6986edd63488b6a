import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectHookActivations } from '@/compute/analyses/activations-at-hook';
import { initBackend } from '@/compute/backend';
import { buildCorpus, type Corpus } from '@/compute/corpus/build';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { loadSae } from '@/compute/sae/load';
import { learningRateAt, lrSchedule } from '@/compute/sae/lr-schedule';
import { writeSaeLensDirectory } from '@/compute/sae/save';
import { trainSae, type SaeParameters, type TrainingProgress, type TrainSaeOptions } from '@/compute/sae/train';
import { STORIES_DIR } from '../shared';
import { makeTempDir } from './sae-helpers';

const STORIES_FILE = fileURLToPath(new URL('./fixtures/short-stories.txt', import.meta.url));
const LEXICON = fileURLToPath(new URL('../../bin/lexicon.mjs', import.meta.url));
const HOOK = 'blocks.1.hook_resid_post';
const D_IN = 64;
const D_SAE = 256;

let model: LanguageModel;
let tmp: string;
let corpus: Corpus;
/** stories260K's activations at HOOK on the fixture stories, [n, 64] */
let activations: Float32Array;
let nTokens: number;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
  tmp = await makeTempDir('train-sae');
  corpus = await buildCorpus(model, { file: STORIES_FILE, contextSize: 64, prependBos: true, maxTokens: 1_000_000 });
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
  return tf.tidy(() => {
    const pre = tf.add(tf.matMul(tf.sub(x, tf.tensor1d(w.b_dec)), tf.tensor2d(w.W_enc, [D_IN, D_SAE])), tf.tensor1d(w.b_enc));
    return tf.relu(pre as tf.Tensor2D);
  });
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

  it('trains the same from a stream of activation batches as from one array', async () => {
    const streamed = await train({ steps: 20, activations: collectHookActivations(model, corpus.contexts, HOOK, { batchSize: 5 }) });
    const gathered = await train({ steps: 20 });
    expect(streamed.weights.W_enc).toEqual(gathered.weights.W_enc);
  });

  it('rejects non-finite activations and impossible settings', async () => {
    const bad = Float32Array.from(activations.subarray(0, 10 * D_IN));
    bad[3 * D_IN + 5] = NaN;
    await expect(train({ activations: bad })).rejects.toThrow(/activation row 3 holds NaN/);
    await expect(train({ architecture: 'topk' })).rejects.toThrow(InputError);
    await expect(train({ deadFeatureRemedy: 'auxk' })).rejects.toThrow(/AuxK loss needs a topk SAE/);
  });

  it('reports its batch size and how many activations went into a step: all, unless steps × batch size are fewer', async () => {
    const short = await train({ steps: 3, batchSize: 100 });
    expect(short).toMatchObject({ steps: 3, batchSize: 100, tokensUsed: 300 });
    expect(short.metrics.nTokens).toBe(nTokens);
    const wholeBatch = await train({ steps: 2, batchSize: nTokens + 1000 });
    expect(wholeBatch).toMatchObject({ batchSize: nTokens, tokensUsed: nTokens });
    const epochs = await train({ steps: undefined, epochs: 1, batchSize: 512 });
    expect(epochs).toMatchObject({ steps: Math.ceil(nTokens / 512), tokensUsed: nTokens });
  });

  it('steps with the learning rate of its schedule, and the schedule changes the result', async () => {
    const options = { steps: 12, lr: 1e-3, lrSchedule: 'cosineannealing' as const, lrWarmupSteps: 4, lrDecaySteps: 2 };
    const progress: TrainingProgress[] = [];
    const scheduled = await train({ ...options, onProgress: (p) => progress.push(p) });
    const schedule = lrSchedule(options, 1e-3, 12);
    expect(progress.map((p) => p.lr)).toEqual(Array.from({ length: 12 }, (_, i) => learningRateAt(schedule, i + 1)));
    expect(progress.slice(0, 4).map((p) => p.lr)).toEqual([0.25e-3, 0.5e-3, 0.75e-3, 1e-3]);
    const constant = await train({ steps: 12, lr: 1e-3 });
    expect(scheduled.weights.W_enc).not.toEqual(constant.weights.W_enc);
    await expect(train({ steps: 12, lrWarmupSteps: 10, lrDecaySteps: 5 })).rejects.toThrow(/10 warm-up and 5 decay steps do not fit in a run of 12 steps/);
  });

  it('is reproducible: the same seed gives identical weights, another seed different ones', async () => {
    const a = await train({ steps: 40 });
    const b = await train({ steps: 40 });
    const c = await train({ steps: 40, seed: 2 });
    for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) expect(b.weights[name]).toEqual(a.weights[name]);
    expect(c.weights.W_dec).not.toEqual(a.weights.W_dec);
  });

  it('writes a SAELens directory that loadSae reads back, encoding as the trained weights do', async () => {
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
      // equal up to float rounding (the two may order the arithmetic differently)
      const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(loaded, trained))).dataSync()[0]);
      expect(difference).toBeLessThan(1e-5);
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

  /** A short-trained SAE whose first DEAD features do not fire: their encoder bias is `bias`. */
  async function withDeadFeatures(architecture: 'standard' | 'topk', bias = -100): Promise<SaeParameters> {
    const { weights } = await train({ architecture, k: 8, steps: 30 });
    weights.b_enc.fill(bias, 0, DEAD);
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

  it('the AuxK loss pulls dead TopK features back', async () => {
    // Adam moves a bias by about lr per step, so the bias must be within reach: -5 is far below the pre-activations
    // that win the top k (no feature fires on its own), yet a few hundred steps away.
    const init = await withDeadFeatures('topk', -5);
    const options = { architecture: 'topk' as const, k: 8, init, steps: 150, deadFeatureWindow: 20 };
    const untreated = await train({ ...options, deadFeatureRemedy: 'none' });
    expect(deadAmongFirst(untreated.metrics.featureDensity)).toBe(DEAD);
    const auxk = await train({ ...options, deadFeatureRemedy: 'auxk' });
    expect(auxk.resampled).toBe(0);
    expect(deadAmongFirst(auxk.metrics.featureDensity)).toBeLessThan(DEAD / 2);
  });
});

describe('lexicon train-sae', () => {
  it('trains on a corpus file, writes a loadable SAELens directory and prints a JSON summary', async () => {
    const out = path.join(tmp, 'cli');
    const args = ['train-sae', '--model', STORIES_DIR, '--hook', HOOK, '--out', out, '--corpus', STORIES_FILE];
    const options = ['--context', '64', '--d-sae', '128', '--architecture', 'topk', '--k', '8', '--epochs', '5', '--seed', '3', '--json'];
    const { stdout, stderr } = await promisify(execFile)('node', [LEXICON, ...args, ...options], { cwd: os.tmpdir() });
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ architecture: 'topk', hook: HOOK, dIn: 64, dSae: 128, k: 8, corpus: { source: 'short-stories.txt', hash: corpus.hash } });
    expect(summary.metrics.l0).toBeLessThanOrEqual(8);
    expect(stderr).toMatch(/training .*loss [\d.]+ +L0 [\d.]+ +var\.expl\. [\d.-]+/);

    const sae = await loadSae(out);
    expect(sae.cfg).toMatchObject({ architecture: 'topk', k: 8, dSae: 128, hookName: HOOK, contextSize: 64, modelName: 'stories260K' });
    sae.dispose();
  });

  it('says how many of the corpus tokens it trained on when --tokens and --steps × --batch-size cut them', async () => {
    const out = path.join(tmp, 'cli-cut');
    const args = ['train-sae', '--model', STORIES_DIR, '--hook', HOOK, '--out', out, '--corpus', STORIES_FILE, '--context', '64', '--d-sae', '64'];
    const options = ['--tokens', '1024', '--steps', '3', '--batch-size', '256', '--lr-schedule', 'cosineannealing', '--lr-warmup-steps', '1'];
    const run = await promisify(execFile)('node', [LEXICON, ...args, ...options, '--json'], { cwd: os.tmpdir() });
    const summary = JSON.parse(run.stdout);
    const corpusTokens = corpus.contexts.length * 64;
    expect(corpusTokens).toBeGreaterThan(1024);
    expect(summary).toMatchObject({ steps: 3, batchSize: 256, tokensUsed: 768, corpus: { tokens: 1024, availableTokens: corpusTokens } });
    expect(summary.note).toBe(
      `trained on 768 of the corpus's ${corpusTokens} tokens: --tokens 1024 kept the first 1024; 3 steps × 256 tokens per step reach 768 of those 1024`,
    );
    expect(run.stderr).toMatch(/training: 3 steps × 256 tokens/);
    expect(run.stderr).toMatch(/lr [\d.e-]+/);

    const readable = await promisify(execFile)('node', [LEXICON, ...args, '--epochs', '1'], { cwd: os.tmpdir() });
    expect(readable.stdout).not.toMatch(/trained on/);
    const cut = await promisify(execFile)('node', [LEXICON, ...args, '--tokens', '1024', '--epochs', '1'], { cwd: os.tmpdir() });
    expect(cut.stdout).toContain(`trained on 1024 of the corpus's ${corpusTokens} tokens: --tokens 1024 kept the first 1024\n`);
  });

  it('takes a negative number as an option value, and the trainer refuses it by name', async () => {
    const run = promisify(execFile)('node', [LEXICON, 'train-sae', '--model', STORIES_DIR, '--hook', HOOK, '--out', tmp, '--corpus', STORIES_FILE, '--context', '64', '--lr', '-0.1']);
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/lexicon: lr must be > 0, got -0\.1/) });
  });

  it('rejects an unknown architecture as a usage error', async () => {
    const run = promisify(execFile)('node', [LEXICON, 'train-sae', '--model', STORIES_DIR, '--hook', HOOK, '--out', tmp, '--architecture', 'gated']);
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--architecture must be standard or topk/) });
  });
});
