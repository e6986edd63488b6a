import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { createSae, type Sae } from './sae';

/**
 * The import check (docs/compute.md#import-check): a wrong `apply_b_dec_to_input` makes a good SAE look like a bad one
 * (high L0, bad MSE). Reconstruct activations sampled at the SAE's hook with the cfg as given and with that flag
 * flipped, and say loudly when the flipped version is much better or the given one is poor. A transcoder is scored
 * against its output hook's activations, and has no flag to flip (it never subtracts b_dec from its input).
 */

export interface SaeEvalStats {
  nTokens: number;
  /** centred: 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖² */
  varianceExplained: number;
  /** mean of (x − x̂)² over tokens and dimensions */
  mse: number;
  /** mean number of active (> 0) features per token */
  l0: number;
}

export interface ImportCheckResult {
  asGiven: SaeEvalStats;
  /** absent for a transcoder */
  flipped?: SaeEvalStats;
  warnings: string[];
}

/**
 * Thresholds for the warnings. A correctly configured SAE reconstructs worse with the flag flipped (it was trained
 * with its own convention), so any clear gain from flipping is suspect. The gain can be modest: on the stories260K
 * fixture SAE a wrong flag costs 5 points of variance explained (MSE ×1.33), so the "may be wrong" margins are small.
 */
const POOR_VARIANCE_EXPLAINED = 0.5;
const FLIP_VE_GAIN = { suspicious: 0.02, certain: 0.1 };
const FLIP_MSE_RATIO = { suspicious: 0.9, certain: 0.5 };

/** Rows per chunk are chosen so one chunk's activations stay around this many floats. */
const CHUNK_FLOATS = 1 << 22;

/**
 * Reconstruction statistics of `sae` on activations X [n, d_in], against the target Y [n, d_out]: X itself for an SAE,
 * the output hook's activations for a transcoder.
 */
export function saeEvalStats(X: tf.Tensor2D, sae: Sae, Y: tf.Tensor2D = X): SaeEvalStats {
  const [n, d] = X.shape;
  if (X.rank !== 2 || d !== sae.dIn) throw new InputError(`activations must be [n, d_in = ${sae.dIn}], got [${X.shape}]`);
  if (n === 0) throw new InputError('no activations to evaluate the SAE on');
  const dOut = sae.cfg.dOut;
  if (Y.rank !== 2 || Y.shape[0] !== n || Y.shape[1] !== dOut) throw new InputError(`targets must be [n = ${n}, d_out = ${dOut}], got [${Y.shape}]`);

  const mean = tf.tidy(() => tf.mean(Y, 0));
  // Sums are accumulated in float64 across chunks; each chunk bounds the [rows, d_sae] activations in memory.
  let sqErr = 0;
  let sqDev = 0;
  let active = 0;
  const rows = Math.max(1, Math.floor(CHUNK_FLOATS / sae.dSae));
  for (let start = 0; start < n; start += rows) {
    const [chunkErr, chunkDev, chunkActive] = tf.tidy(() => {
      const x = tf.slice(X, [start, 0], [Math.min(rows, n - start), d]);
      const y = Y === X ? x : tf.slice(Y, [start, 0], [x.shape[0], dOut]);
      const { acts, reconstruction } = sae.forward(x);
      return [tf.sum(tf.square(tf.sub(y, reconstruction))), tf.sum(tf.square(tf.sub(y, mean))), tf.sum(tf.greater(acts, 0))];
    });
    sqErr += chunkErr.dataSync()[0];
    sqDev += chunkDev.dataSync()[0];
    active += chunkActive.dataSync()[0];
    tf.dispose([chunkErr, chunkDev, chunkActive]);
  }
  mean.dispose();

  return {
    nTokens: n,
    // Constant activations have no variance to explain; report 0 rather than NaN/-Infinity.
    varianceExplained: sqDev > 0 ? 1 - sqErr / sqDev : 0,
    mse: sqErr / (n * dOut),
    l0: active / n,
  };
}

/**
 * Evaluates the SAE on activations X [n, d_in] sampled from the model at the SAE's hook, as configured and with
 * apply_b_dec_to_input flipped. A transcoder is evaluated against `Y`, its output hook's activations, as configured only.
 */
export function importCheck(X: tf.Tensor2D, sae: Sae, Y?: tf.Tensor2D): ImportCheckResult {
  const given = sae.cfg.applyBDecToInput;
  const transcoder = Y !== undefined;
  const asGiven = saeEvalStats(X, sae, Y);
  // Shares sae's weights, so it is not disposed.
  const flipped = transcoder ? undefined : saeEvalStats(X, createSae({ ...sae.cfg, applyBDecToInput: !given }, sae.weights));

  const warnings: string[] = [];
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const describe = (s: SaeEvalStats) => `variance explained ${pct(s.varianceExplained)}, MSE ${s.mse.toPrecision(3)}, L0 ${s.l0.toFixed(1)}`;
  const gain = flipped ? flipped.varianceExplained - asGiven.varianceExplained : 0;
  const mseRatio = flipped ? flipped.mse / asGiven.mse : 1;
  if (flipped && (gain > FLIP_VE_GAIN.suspicious || mseRatio < FLIP_MSE_RATIO.suspicious)) {
    const certainty = gain > FLIP_VE_GAIN.certain || mseRatio < FLIP_MSE_RATIO.certain ? 'is almost certainly wrong' : 'looks wrong';
    warnings.push(
      `apply_b_dec_to_input ${certainty}: cfg.json says ${given}, but with ${!given} the SAE reconstructs better ` +
        `(${describe(flipped)}) than as given (${describe(asGiven)}). Check which convention the SAE was trained with.`,
    );
  }
  if (asGiven.varianceExplained < POOR_VARIANCE_EXPLAINED) {
    warnings.push(
      `the SAE reconstructs these activations poorly (${describe(asGiven)} over ${asGiven.nTokens} tokens at ${sae.cfg.hookNameOut}). ` +
        'Check the hook, apply_b_dec_to_input, normalize_activations, BOS/padding, and that the activations come from the model the SAE was trained on.',
    );
  }
  return { asGiven, flipped, warnings };
}
