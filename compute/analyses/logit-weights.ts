import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { outputHook } from '../sae/site';
import { checkFeatures, checkSaeForModel, tidyData } from './common';
import { decoderDirection, type FeatureDirection } from './direction';

/**
 * Logit weights (docs/compute.md#logit-weights): a feature read as a direction in logit space, W_dec[f]·W_U on the
 * direct path. By default the final norm is folded into W_U as TransformerLens `fold_ln=True` does (and so
 * SAEDashboard and Neuronpedia show them): W_U ← diag(w)·W_U, and for LayerNorm W_U's columns centred over d_model.
 * `foldLn: false` gives the raw W_dec[f]·W_U. An SAE on `blocks.L.mlp.hook_post` lives in MLP-neuron space, so its
 * decoder rows first go through that MLP's output weights into the residual stream.
 */

/** Logit rows are computed this many floats at a time (all of 24576 features × 50257 tokens would be 5 GB). */
const LOGIT_CHUNK_ELEMENTS = 1 << 22;

/** A token's logit weight, as dashboards store it. */
export interface TokenWeight {
  id: number;
  value: number;
}

/** ... with the token's piece, as the analyses report it. */
export interface TokenValue extends TokenWeight {
  piece: string;
}

export interface LogitWeights {
  /** the k largest, largest first */
  top: TokenValue[];
  /** the k smallest, smallest first */
  bottom: TokenValue[];
}

export interface FeatureLogitWeights extends LogitWeights {
  feature: number;
}

export interface LogitOptions {
  /** fold the final norm's weight into W_U (TransformerLens fold_ln); default true */
  foldLn?: boolean;
}

/** How many features' logit rows to compute at once so that one chunk stays near LOGIT_CHUNK_ELEMENTS floats. */
export function logitChunkSize(model: LanguageModel): number {
  return Math.max(1, Math.floor(LOGIT_CHUNK_ELEMENTS / model.config.vocabSize));
}

/** The top and bottom `k` logit weights of one feature, or of a direction composed of several. */
export function logitWeights(
  model: LanguageModel,
  sae: Sae,
  direction: FeatureDirection,
  k = 10,
  { foldLn = true }: LogitOptions = {},
): LogitWeights {
  checkSaeForModel(model, sae);
  checkK(model, k);
  return tidyData(() => {
    const row = tf.expandDims(decoderDirection(sae, direction), 0) as tf.Tensor2D;
    return withPieces(model, rankLogits(directionLogits(model, sae, row, { foldLn }), k)[0]);
  });
}

/**
 * The top and bottom `k` logit weights of every feature (or of `features`), one yield per chunk of `chunkSize`
 * features, so that memory stays bounded by one chunk's [chunkSize, vocab] logits.
 */
export function* allLogitWeights(
  model: LanguageModel,
  sae: Sae,
  options: { k?: number; features?: number[]; chunkSize?: number } & LogitOptions = {},
): Generator<FeatureLogitWeights[]> {
  const { k = 10, features = Array.from({ length: sae.dSae }, (_, f) => f), chunkSize = logitChunkSize(model), foldLn = true } = options;
  checkSaeForModel(model, sae);
  checkK(model, k);
  checkFeatures(sae, features);
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) throw new InputError(`chunkSize must be a positive integer, got ${chunkSize}`);
  for (let start = 0; start < features.length; start += chunkSize) {
    const chunk = features.slice(start, start + chunkSize);
    yield tidyData(() => {
      const ranked = rankLogits(directionLogits(model, sae, tf.gather(sae.weights.W_dec, chunk), { foldLn }), k);
      return ranked.map((weights, i) => ({ feature: chunk[i], ...withPieces(model, weights) }));
    });
  }
}

/** Logit weights [n, vocab] of directions [n, d_in] in the SAE's hook space. */
export function directionLogits(model: LanguageModel, sae: Sae, directions: tf.Tensor2D, { foldLn = true }: LogitOptions = {}): tf.Tensor2D {
  return tf.tidy(() => {
    const readOut = residualMap(model, sae);
    const residual: tf.Tensor2D = readOut ? tf.matMul(directions, readOut) : directions;
    return tf.matMul(foldLn ? foldFinalNorm(model, residual) : residual, model.unembed);
  });
}

/**
 * d·W_U with the final norm folded into W_U, computed on the directions instead of on W_U (a copy of W_U would be
 * vocab × d_model floats): d·C(diag(w)·W_U) = (C(d) ⊙ w)·W_U, where C centres over d_model (LayerNorm only; RMSNorm
 * does not centre, so TransformerLens leaves its W_U uncentred).
 */
function foldFinalNorm(model: LanguageModel, residual: tf.Tensor2D): tf.Tensor2D {
  const { kind, weight } = model.finalNorm;
  const centred = kind === 'layer' ? tf.sub<tf.Tensor2D>(residual, tf.mean(residual, 1, true)) : residual;
  return tf.mul<tf.Tensor2D>(centred, weight);
}

/** Each row's k largest entries (largest first) and k smallest (smallest first). */
export function rankLogits(logits: tf.Tensor2D, k: number): { top: TokenWeight[]; bottom: TokenWeight[] }[] {
  const [rows] = logits.shape;
  return tidyData(() => {
    const top = tf.topk(logits, k);
    const bottom = tf.topk(tf.neg(logits), k);
    const [topIds, topValues, bottomIds, negatedBottom] = [top.indices, top.values, bottom.indices, bottom.values].map((t) => t.dataSync());
    const entries = (ids: tf.TypedArray, values: tf.TypedArray, row: number, sign: number) =>
      Array.from({ length: k }, (_, j) => ({ id: ids[row * k + j], value: sign * values[row * k + j] }));
    return Array.from({ length: rows }, (_, row) => ({
      top: entries(topIds, topValues, row, 1),
      bottom: entries(bottomIds, negatedBottom, row, -1),
    }));
  });
}

/**
 * The matrix taking the space the SAE's decoder writes to (its output hook) to the residual stream: the MLP's output
 * weights for mlp.hook_post, the attention's W_O for attn.hook_z (heads concatenated), none for hooks in (or added
 * straight into) the residual stream.
 */
function residualMap(model: LanguageModel, sae: Sae): tf.Tensor2D | undefined {
  const hook = outputHook(sae);
  const mlp = /^blocks\.(\d+)\.mlp\.hook_(pre|pre_linear|post)$/.exec(hook);
  if (mlp && mlp[2] !== 'post') {
    throw new InputError(`logit weights are not defined for an SAE on ${hook}: the MLP's nonlinearity lies between it and the residual stream`);
  }
  if (mlp) return model.mlpOut(Number(mlp[1]));
  const z = /^blocks\.(\d+)\.attn\.hook_z$/.exec(hook);
  if (z) return model.attnOut(Number(z[1]));
  if (sae.cfg.dOut !== model.config.dModel || /\.attn\./.test(hook) || /\.ln\d\./.test(hook)) {
    throw new InputError(`logit weights are not defined for an SAE writing to ${hook}: it is not in, or added straight into, the residual stream`);
  }
  return undefined;
}

function withPieces(model: LanguageModel, { top, bottom }: { top: TokenWeight[]; bottom: TokenWeight[] }): LogitWeights {
  const named = ({ id, value }: TokenWeight) => ({ id, piece: model.tokenizer.piece(id), value });
  return { top: top.map(named), bottom: bottom.map(named) };
}

function checkK(model: LanguageModel, k: number): void {
  const { vocabSize } = model.config;
  if (!(Number.isInteger(k) && k >= 1 && k <= vocabSize)) throw new InputError(`k must be an integer from 1 to ${vocabSize}, got ${k}`);
}
