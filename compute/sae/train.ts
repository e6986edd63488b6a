import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { gaussian, permutation, seededRandom, type Random } from '../random';
import { learningRateAt, lrSchedule, type LrSchedule, type LrScheduleOptions } from './lr-schedule';
import { StandardSae, TopKSae, topK, type SaeArithmeticConfig, type SaeWeights, type TrainableSae } from './sae';

/**
 * Trains a sparse autoencoder on activations, as SAELens trains its standard and TopK SAEs:
 *   x' = x − b_dec,  pre = x'·W_enc + b_enc,  acts = relu(pre) (standard) or the k largest of relu(pre) (topk),
 *   x̂ = acts·W_dec + b_dec.
 * Standard loss: Σ_d (x̂ − x)² + l1 · Σ_f acts_f·‖W_dec[f]‖, averaged over tokens. TopK loss: the squared error
 * plus the AuxK loss (below). Adam; decoder rows kept at unit norm (the component of their gradient along the row
 * is removed before the step and the rows are renormalised after it); b_dec starts at the data mean, W_enc as W_decᵀ.
 *
 * The gradients are written out by hand rather than taken with tf.grad: tfjs-wasm runs a matMul with a transposed
 * operand roughly 10× slower than a plain one, and autodiff's matMul gradients use exactly those. Here every matMul
 * has plain operands (small tensors are transposed explicitly).
 *
 * Dead features (not firing for `deadFeatureWindow` steps) are remedied by
 * - 'resample' (Anthropic, "Towards Monosemanticity"): every window, until 70% of training, each dead feature is
 *   re-pointed at an input drawn with probability ∝ its squared reconstruction error: W_dec[f] = that input
 *   (minus b_dec) at unit norm, W_enc[:, f] the same direction at 0.2 × the mean encoder norm of the live features,
 *   b_enc[f] = 0, and its Adam moments cleared;
 * - 'auxk' (TopK only; Gao et al. 2024, as SAELens): the k_aux = d_in/2 largest pre-activations of the dead features
 *   reconstruct the main reconstruction's error, and that squared error, weighted by auxKCoefficient ×
 *   min(1, dead/k_aux), is added to the loss.
 */

export type TrainableArchitecture = 'standard' | 'topk';
export type DeadFeatureRemedy = 'resample' | 'auxk' | 'none';

/** SAE parameters in SAELens layout, row-major. */
export interface SaeParameters {
  /** [d_in, d_sae] */
  W_enc: Float32Array;
  /** [d_sae, d_in] */
  W_dec: Float32Array;
  /** [d_sae] */
  b_enc: Float32Array;
  /** [d_in] */
  b_dec: Float32Array;
}

export interface TrainingProgress {
  step: number;
  steps: number;
  /** the training objective on this step's batch */
  loss: number;
  /** mean over tokens and dimensions of (x − x̂)² on this batch */
  mse: number;
  /** mean number of active features per token on this batch */
  l0: number;
  /** 1 − Σ‖x − x̂‖² / Σ‖x − mean x‖² on this batch (mean over all training activations) */
  varianceExplained: number;
  /** features that have not fired in the last deadFeatureWindow steps */
  deadFraction: number;
  /** features resampled so far */
  resampled: number;
  /** the learning rate of this step, as the schedule gives it */
  lr: number;
}

export interface TrainSaeOptions extends LrScheduleOptions {
  /** training activations, [n, dIn] row-major, or batches of whole rows (gathered into memory before training) */
  activations: Float32Array | AsyncIterable<Float32Array>;
  dIn: number;
  dSae: number;
  architecture: TrainableArchitecture;
  /** topk: active features per token */
  k?: number;
  /** standard: sparsity penalty (SAELens l1_coefficient); default 1 */
  l1Coefficient?: number;
  /** Adam learning rate (the schedule's peak); default 3e-3 */
  lr?: number;
  /**
   * tokens per step; default 512 (less when there are fewer activations). Small models gain more from more steps
   * than from bigger batches, and tfjs-wasm processes batches of 512 faster per token than 4096.
   */
  batchSize?: number;
  /** optimizer steps; default: `epochs` passes over the activations */
  steps?: number;
  /** passes over the activations when `steps` is not given; default 10 */
  epochs?: number;
  seed?: number;
  /** default 'resample' for standard, 'auxk' for topk */
  deadFeatureRemedy?: DeadFeatureRemedy;
  /** steps without firing after which a feature counts as dead; default 200k tokens' worth, at most a quarter of the steps */
  deadFeatureWindow?: number;
  /** AuxK loss weight; default 1/32 (Gao et al.) */
  auxKCoefficient?: number;
  /** start from these parameters instead of a fresh initialisation (b_dec is then kept too) */
  init?: SaeParameters;
  onProgress?: (progress: TrainingProgress) => void;
}

export interface SaeTrainingMetrics {
  /** activations the metrics were measured on: all the training activations */
  nTokens: number;
  mse: number;
  l0: number;
  varianceExplained: number;
  /** fraction of features that never fired on the nTokens activations */
  deadFraction: number;
  /** per feature: fraction of the nTokens activations on which it fired */
  featureDensity: Float32Array;
}

export interface TrainSaeResult {
  weights: SaeParameters;
  /** after training, measured on all the training activations */
  metrics: SaeTrainingMetrics;
  steps: number;
  /** tokens per step, as trained (at most the activations there are) */
  batchSize: number;
  /** activations that went into at least one step: all of them unless steps × batchSize is fewer (batches draw without replacement) */
  tokensUsed: number;
  /** features re-initialised by resampling, over the whole run */
  resampled: number;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/** A feature that fires on none of this many training tokens counts as dead (unless told otherwise). */
const DEAD_WINDOW_TOKENS = 200_000;
/** Resampling stops here, so that the last resampled features have time to settle. */
const LAST_RESAMPLE_FRACTION = 0.7;
/** Inputs scored for resampling (the candidates dead features are re-pointed at). */
const RESAMPLE_CANDIDATES = 8192;
/** Anthropic's encoder scale for a resampled feature, relative to the mean live encoder norm. */
const RESAMPLE_ENCODER_SCALE = 0.2;
/** Rows per chunk when evaluating on all activations. */
const EVAL_CHUNK = 8192;

const PARAM_NAMES = ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const;
/** The parameters (or their gradients, or Adam moments) as tensors. */
type Params = Record<(typeof PARAM_NAMES)[number], tf.Tensor>;
const tensorsOf = (...sets: Params[]) => sets.flatMap((p) => Object.values(p));

export async function trainSae(options: TrainSaeOptions): Promise<TrainSaeResult> {
  const { dIn, dSae, seed = 0, onProgress } = options;
  const data = await gatherActivations(options.activations, dIn);
  const n = data.length / dIn;
  const settings = checkOptions(options, n);
  const { steps, batchSize, remedy, window } = settings;
  const random = seededRandom(seed);

  const mean = columnMean(data, dIn);
  let params = toTensors(options.init ?? initialParameters(dIn, dSae, mean, random), dIn, dSae);
  let moments = zeroMoments(params);
  const stepsSinceFired = new Int32Array(dSae);
  const batches = batchIndices(n, batchSize, random);
  const meanTensor = tf.tensor1d(mean);
  let resampled = 0;

  try {
    for (let step = 1; step <= steps; step++) {
      const x = tf.tensor2d(gatherRows(data, batches.next(), dIn), [batchSize, dIn]);
      const dead = remedy === 'auxk' ? deadFeatureIndices(stepsSinceFired, window) : null;
      const { grads, stats } = tf.tidy(() => lossAndGradients(params, x, meanTensor, dead, settings));
      const lr = learningRateAt(settings.schedule, step);
      const updated = adamStep(params, grads, moments, step, lr);
      tf.dispose([x, ...(dead ? [dead] : []), ...tensorsOf(grads, params, moments.m, moments.v)]);
      ({ params, moments } = updated);

      const values = stats.dataSync();
      stats.dispose();
      const [sqErr, sparsityLoss, auxLoss, activeCount, sqDev] = values;
      for (let f = 0; f < dSae; f++) stepsSinceFired[f] = values[5 + f] > 0 ? 0 : stepsSinceFired[f] + 1;

      if (remedy === 'resample' && step % window === 0 && step <= LAST_RESAMPLE_FRACTION * steps) {
        const deadFeatures = [...stepsSinceFired.keys()].filter((f) => stepsSinceFired[f] >= window);
        if (deadFeatures.length > 0) {
          ({ params, moments } = resample(params, moments, deadFeatures, data, settings, random));
          for (const f of deadFeatures) stepsSinceFired[f] = 0;
          resampled += deadFeatures.length;
        }
      }

      onProgress?.({
        step,
        steps,
        loss: (sqErr + sparsityLoss + auxLoss) / batchSize,
        mse: sqErr / (batchSize * dIn),
        l0: activeCount / batchSize,
        varianceExplained: sqDev > 0 ? 1 - sqErr / sqDev : 0,
        deadFraction: stepsSinceFired.filter((s) => s >= window).length / dSae,
        resampled,
        lr,
      });
      // let the event loop run (progress output, job heartbeats) between steps
      await new Promise((resolve) => setImmediate(resolve));
    }
    const metrics = evaluate(params, data, dIn, mean, settings);
    return { weights: toArrays(params), metrics, steps, batchSize, tokensUsed: Math.min(n, steps * batchSize), resampled };
  } finally {
    tf.dispose([meanTensor, ...tensorsOf(params, moments.m, moments.v)]);
  }
}

interface Settings {
  dIn: number;
  dSae: number;
  architecture: TrainableArchitecture;
  k: number;
  l1: number;
  lr: number;
  schedule: LrSchedule;
  batchSize: number;
  steps: number;
  remedy: DeadFeatureRemedy;
  window: number;
  auxK: number;
  auxKCoefficient: number;
}

function checkOptions(options: TrainSaeOptions, n: number): Settings {
  const { dIn, dSae, architecture } = options;
  const positiveInt = (value: number | undefined, name: string) => {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new InputError(`${name} must be a positive integer, got ${value}`);
  };
  positiveInt(dIn, 'dIn');
  positiveInt(dSae, 'dSae');
  for (const name of ['k', 'batchSize', 'steps', 'epochs', 'deadFeatureWindow'] as const) positiveInt(options[name], name);
  if (architecture !== 'standard' && architecture !== 'topk') throw new InputError(`cannot train a "${architecture}" SAE (standard or topk)`);
  if (n === 0) throw new InputError('no activations to train on');
  const k = options.k ?? 0;
  if (architecture === 'topk' && !(k >= 1 && k <= dSae)) throw new InputError(`a topk SAE needs k in 1..${dSae}, got ${options.k}`);
  const remedy = options.deadFeatureRemedy ?? (architecture === 'topk' ? 'auxk' : 'resample');
  if (remedy === 'auxk' && architecture !== 'topk') throw new InputError('the AuxK loss needs a topk SAE; use resampling for a standard SAE');
  const l1 = options.l1Coefficient ?? 1;
  const lr = options.lr ?? 3e-3;
  if (!(l1 >= 0)) throw new InputError(`l1Coefficient must be ≥ 0, got ${l1}`);
  if (!(lr > 0)) throw new InputError(`lr must be > 0, got ${lr}`);

  const batchSize = Math.min(options.batchSize ?? 512, n);
  const steps = options.steps ?? Math.ceil(((options.epochs ?? 10) * n) / batchSize);
  return {
    dIn, dSae, architecture, k,
    l1: architecture === 'standard' ? l1 : 0,
    lr, schedule: lrSchedule(options, lr, steps), batchSize, steps, remedy,
    window: Math.max(1, Math.min(options.deadFeatureWindow ?? Math.ceil(DEAD_WINDOW_TOKENS / batchSize), Math.floor(steps / 4))),
    auxK: Math.max(1, Math.floor(dIn / 2)),
    auxKCoefficient: options.auxKCoefficient ?? 1 / 32,
  };
}

async function gatherActivations(source: Float32Array | AsyncIterable<Float32Array>, dIn: number): Promise<Float32Array> {
  if (source instanceof Float32Array) {
    if (source.length % dIn !== 0) throw new InputError(`activations hold ${source.length} values, not a whole number of rows of ${dIn}`);
    return checkFinite(source, dIn);
  }
  const chunks: Float32Array[] = [];
  let length = 0;
  for await (const chunk of source) {
    if (chunk.length % dIn !== 0) throw new InputError(`an activation batch holds ${chunk.length} values, not a whole number of rows of ${dIn}`);
    chunks.push(chunk);
    length += chunk.length;
  }
  const data = new Float32Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return checkFinite(data, dIn);
}

/** One NaN or infinity would spread to every weight within a few steps. */
function checkFinite(data: Float32Array, dIn: number): Float32Array {
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`activation row ${Math.floor(bad / dIn)} holds ${data[bad]}; the activations must be finite`);
  return data;
}

/** Unit-norm random decoder rows, the encoder as their transpose, b_enc 0, b_dec the data mean. */
function initialParameters(dIn: number, dSae: number, mean: Float32Array, random: Random): SaeParameters {
  const W_dec = gaussian(random, dSae * dIn);
  for (let f = 0; f < dSae; f++) normalize(W_dec.subarray(f * dIn, (f + 1) * dIn));
  const W_enc = new Float32Array(dIn * dSae);
  for (let f = 0; f < dSae; f++) for (let i = 0; i < dIn; i++) W_enc[i * dSae + f] = W_dec[f * dIn + i];
  return { W_enc, W_dec, b_enc: new Float32Array(dSae), b_dec: Float32Array.from(mean) };
}

/**
 * The loss on batch x and its gradients. `stats` packs, for the progress report: the summed squared error, the
 * summed sparsity penalty, the summed AuxK loss, the number of active (token, feature) pairs, Σ‖x − mean‖², then
 * how often each feature fired.
 */
function lossAndGradients(p: Params, x: tf.Tensor2D, mean: tf.Tensor1D, dead: tf.Tensor1D | null, s: Settings) {
  const batch = x.shape[0];
  const sae = saeOf(p, s);
  const xIn = sae.encoderInput(x);
  const pre = sae.preActivations(xIn);
  const acts = sae.activate(pre);
  const err = tf.sub(sae.decode(acts), x); // x̂ − x
  const active = tf.cast(tf.greater(acts, 0), 'float32');
  const W_decT = tf.transpose(p.W_dec);

  // Squared error, then the sparsity penalty. The decoder rows have unit norm, so the penalty's weights are 1 and
  // their gradient lies along the rows, which the projection below removes.
  const dOut = tf.mul(err, 2 / batch);
  let dW_dec = tf.transpose(tf.matMul(tf.transpose(dOut), acts));
  let dActs = tf.matMul(dOut, W_decT);
  if (s.l1 > 0) dActs = tf.add(dActs, s.l1 / batch);
  let dPre = tf.mul(dActs, active);
  let auxLoss = tf.scalar(0);

  if (dead) {
    // AuxK: dead features' largest pre-activations (unrectified, as SAELens) reconstruct the error x − x̂.
    const nDead = dead.shape[0];
    const kAux = Math.min(s.auxK, nDead);
    const deadPre = tf.gather(pre, dead, 1);
    const top = topK(deadPre, kAux);
    const auxActs = top.scatter(top.values);
    const weight = s.auxKCoefficient * Math.min(1, nDead / s.auxK);
    const auxErr = tf.add(tf.matMul(auxActs, tf.gather(p.W_dec, dead)), err); // ê − (x − x̂)
    auxLoss = tf.mul(tf.sum(tf.square(auxErr)), weight);
    const dAux = tf.mul(auxErr, (2 * weight) / batch);
    // gradients of the dead features' rows, scattered back to their place among all d_sae
    const scatterBack = (t: tf.Tensor) => tf.scatterND(tf.expandDims(dead, 1), t, [s.dSae, t.shape[1]!]);
    dW_dec = tf.add(dW_dec, scatterBack(tf.transpose(tf.matMul(tf.transpose(dAux), auxActs))));
    const dAuxPre = tf.mul(tf.matMul(dAux, tf.transpose(tf.gather(p.W_dec, dead))), top.scatter(tf.onesLike(top.values)));
    dPre = tf.add(dPre, tf.transpose(scatterBack(tf.transpose(dAuxPre))));
  }

  const db_enc = tf.sum(dPre, 0);
  const grads: Params = {
    W_enc: tf.matMul(tf.transpose(xIn), dPre),
    W_dec: removeParallelComponent(dW_dec, p.W_dec),
    b_enc: db_enc,
    // b_dec enters twice: added to the output, subtracted from the input
    b_dec: tf.sub(tf.sum(dOut, 0), tf.reshape(tf.matMul(p.W_enc, tf.expandDims(db_enc, 1)), [s.dIn])),
  };
  const stats = tf.concat([
    tf.stack([
      tf.sum(tf.square(err)),
      tf.mul(tf.sum(acts), s.l1),
      auxLoss,
      tf.sum(active),
      tf.sum(tf.square(tf.sub(x, mean))),
    ]),
    tf.sum(active, 0),
  ]);
  return { grads, stats };
}

/**
 * The SAE that `p` are, computing as the SAE loaded from the saved directory does (x' = x − b_dec, no normalisation).
 * It shares `p`: not to be disposed.
 */
function saeOf(p: Params, s: Settings): TrainableSae<SaeArithmeticConfig> {
  const cfg: SaeArithmeticConfig = {
    architecture: s.architecture, dIn: s.dIn, dSae: s.dSae, k: s.k,
    applyBDecToInput: true, normalizeActivations: 'none', rescaleActsByDecoderNorm: false,
  };
  const weights = p as SaeWeights; // shaped by toTensors
  return s.architecture === 'topk' ? new TopKSae(cfg, weights) : new StandardSae(cfg, weights);
}

/** g minus its component along each (unit) row of W. */
function removeParallelComponent(g: tf.Tensor, W: tf.Tensor): tf.Tensor {
  return tf.sub(g, tf.mul(tf.sum(tf.mul(g, W), 1, true), W));
}

interface Moments {
  m: Params;
  v: Params;
}

function zeroMoments(p: Params): Moments {
  const zeros = () => Object.fromEntries(PARAM_NAMES.map((name) => [name, tf.zerosLike(p[name])])) as unknown as Params;
  return { m: zeros(), v: zeros() };
}

/** One Adam step (bias-corrected), then the decoder rows back to unit norm. Returns new tensors; disposes none. */
function adamStep(p: Params, g: Params, moments: Moments, step: number, lr: number): { params: Params; moments: Moments } {
  return tf.tidy(() => {
    const next = { params: {} as Params, moments: { m: {} as Params, v: {} as Params } };
    const stepSize = (lr * Math.sqrt(1 - ADAM_BETA2 ** step)) / (1 - ADAM_BETA1 ** step);
    for (const name of PARAM_NAMES) {
      const m = tf.add(tf.mul(moments.m[name], ADAM_BETA1), tf.mul(g[name], 1 - ADAM_BETA1));
      const v = tf.add(tf.mul(moments.v[name], ADAM_BETA2), tf.mul(tf.square(g[name]), 1 - ADAM_BETA2));
      next.moments.m[name] = m;
      next.moments.v[name] = v;
      next.params[name] = tf.sub(p[name], tf.mul(tf.div(m, tf.add(tf.sqrt(v), ADAM_EPSILON)), stepSize));
    }
    const W_dec = next.params.W_dec;
    next.params.W_dec = tf.div(W_dec, tf.norm(W_dec, 'euclidean', 1, true));
    return next;
  });
}

function deadFeatureIndices(stepsSinceFired: Int32Array, window: number): tf.Tensor1D | null {
  const dead: number[] = [];
  stepsSinceFired.forEach((s, f) => s >= window && dead.push(f));
  return dead.length > 0 ? tf.tensor1d(dead, 'int32') : null;
}

/** Re-points dead features at inputs reconstructed badly (see the header). Returns new tensors; disposes the old. */
function resample(
  params: Params,
  moments: Moments,
  deadFeatures: number[],
  data: Float32Array,
  s: Settings,
  random: Random,
): { params: Params; moments: Moments } {
  const { dIn, dSae } = s;
  const n = data.length / dIn;
  const candidates = Array.from({ length: Math.min(RESAMPLE_CANDIDATES, n) }, () => Math.floor(random() * n));
  const inputs = gatherRows(data, candidates, dIn);
  const errors = tf.tidy(() => {
    const x = tf.tensor2d(inputs, [candidates.length, dIn]);
    const { reconstruction } = saeOf(params, s).forward(x);
    return tf.sum(tf.square(tf.sub(x, reconstruction)), 1);
  });
  const weights = Array.from(errors.dataSync(), (e) => e * e); // ∝ loss², as Anthropic
  errors.dispose();

  const w = toArrays(params);
  const b_dec = w.b_dec;
  const dead = new Set(deadFeatures);
  let liveNorm = 0;
  for (let f = 0; f < dSae; f++) {
    if (dead.has(f)) continue;
    let sq = 0;
    for (let i = 0; i < dIn; i++) sq += w.W_enc[i * dSae + f] ** 2;
    liveNorm += Math.sqrt(sq);
  }
  liveNorm = dead.size < dSae ? liveNorm / (dSae - dead.size) : 1;

  const cumulative = new Float64Array(weights.length);
  weights.reduce((sum, v, i) => (cumulative[i] = sum + v), 0);
  const total = cumulative[cumulative.length - 1];
  for (const f of deadFeatures) {
    const target = random() * total;
    let row = cumulative.findIndex((c) => c > target);
    if (row < 0) row = cumulative.length - 1;
    const direction = inputs.slice(row * dIn, (row + 1) * dIn).map((v, i) => v - b_dec[i]);
    normalize(direction);
    w.W_dec.set(direction, f * dIn);
    for (let i = 0; i < dIn; i++) w.W_enc[i * dSae + f] = direction[i] * liveNorm * RESAMPLE_ENCODER_SCALE;
    w.b_enc[f] = 0;
  }

  // Adam's moments of the re-initialised entries start over
  const clear = (moment: Params): Params => {
    const a = toArrays(moment);
    for (const f of deadFeatures) {
      a.W_dec.fill(0, f * dIn, (f + 1) * dIn);
      for (let i = 0; i < dIn; i++) a.W_enc[i * dSae + f] = 0;
      a.b_enc[f] = 0;
    }
    return toTensors(a, dIn, dSae);
  };
  const next = { params: toTensors(w, dIn, dSae), moments: { m: clear(moments.m), v: clear(moments.v) } };
  tf.dispose(tensorsOf(params, moments.m, moments.v));
  return next;
}

/** Final metrics over all activations, in chunks; sums in float64. */
function evaluate(params: Params, data: Float32Array, dIn: number, mean: Float32Array, s: Settings): SaeTrainingMetrics {
  const n = data.length / dIn;
  const fired = new Float64Array(s.dSae);
  let sqErr = 0;
  let sqDev = 0;
  let active = 0;
  for (let start = 0; start < n; start += EVAL_CHUNK) {
    const rows = Math.min(EVAL_CHUNK, n - start);
    const chunk = data.subarray(start * dIn, (start + rows) * dIn);
    const stats = tf.tidy(() => {
      const x = tf.tensor2d(chunk, [rows, dIn]);
      const { acts, reconstruction } = saeOf(params, s).forward(x);
      const on = tf.cast(tf.greater(acts, 0), 'float32');
      return tf.concat([tf.stack([tf.sum(tf.square(tf.sub(x, reconstruction))), tf.sum(tf.square(tf.sub(x, mean)))]), tf.sum(on, 0)]);
    });
    const values = stats.dataSync();
    stats.dispose();
    sqErr += values[0];
    sqDev += values[1];
    for (let f = 0; f < s.dSae; f++) {
      fired[f] += values[2 + f];
      active += values[2 + f];
    }
  }
  return {
    nTokens: n,
    mse: sqErr / (n * dIn),
    l0: active / n,
    varianceExplained: sqDev > 0 ? 1 - sqErr / sqDev : 0,
    deadFraction: fired.filter((c) => c === 0).length / s.dSae,
    featureDensity: Float32Array.from(fired, (c) => c / n),
  };
}

/** An endless sequence of batches of row indices: shuffled passes over 0..n-1, a batch may span two passes. */
function batchIndices(n: number, batchSize: number, random: Random): { next(): Uint32Array } {
  let order = permutation(random, n);
  let position = 0;
  return {
    next() {
      const batch = new Uint32Array(batchSize);
      for (let i = 0; i < batchSize; i++) {
        if (position === n) {
          order = permutation(random, n);
          position = 0;
        }
        batch[i] = order[position++];
      }
      return batch;
    },
  };
}

function gatherRows(data: Float32Array, rows: ArrayLike<number>, dIn: number): Float32Array {
  const out = new Float32Array(rows.length * dIn);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * dIn, (rows[i] + 1) * dIn), i * dIn);
  return out;
}

function columnMean(data: Float32Array, dIn: number): Float32Array {
  const sums = new Float64Array(dIn);
  for (let i = 0; i < data.length; i++) sums[i % dIn] += data[i];
  const n = data.length / dIn;
  return Float32Array.from(sums, (sum) => sum / n);
}

function normalize(v: Float32Array): void {
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.sqrt(sq) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
}

function toTensors(p: SaeParameters, dIn: number, dSae: number): Params {
  const expected = { W_enc: dIn * dSae, W_dec: dSae * dIn, b_enc: dSae, b_dec: dIn };
  for (const name of PARAM_NAMES) {
    if (p[name].length !== expected[name]) throw new InputError(`initial ${name} has ${p[name].length} values, expected ${expected[name]}`);
  }
  return {
    W_enc: tf.tensor2d(p.W_enc, [dIn, dSae]),
    W_dec: tf.tensor2d(p.W_dec, [dSae, dIn]),
    b_enc: tf.tensor1d(p.b_enc),
    b_dec: tf.tensor1d(p.b_dec),
  };
}

function toArrays(p: Params): SaeParameters {
  // dataSync may return the backend's own buffer; copy so callers can edit freely
  const read = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
  return { W_enc: read(p.W_enc), W_dec: read(p.W_dec), b_enc: read(p.b_enc), b_dec: read(p.b_dec) };
}
