import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { checkFeatures, checkSaeForModel, checkTokens, hookActivations, numbers, tidyData } from './common';
import { directionFeatures, encoderProbe, type ComposedDirection } from './direction';

export interface ActivationsOptions {
  /** features whose activation is listed at every token */
  features?: number[];
  /** how many of the most active features to list at each token (default 5) */
  topK?: number;
  /** also read a direction composed of several features, as a linear probe (see direction.ts) */
  composed?: ComposedDirection;
}

export interface ActiveFeature {
  feature: number;
  act: number;
}

export interface FeatureActivations {
  tokens: number[];
  pieces: string[];
  /** feature index → its activation at every token */
  features: Record<string, number[]>;
  /** per token, up to topK features with activation > 0, largest first (ties: lower index first) */
  top: ActiveFeature[][];
  /** the composed direction's probe at every token: x'·w + b as is (`pre`) and rectified (`act`) */
  composed?: ComposedDirection & { pre: number[]; act: number[] };
}

/** The SAE's feature activations on one token sequence: the model runs up to the SAE's hook, then the SAE encodes. */
export function featureActivations(model: LanguageModel, sae: Sae, ids: number[], options: ActivationsOptions = {}): FeatureActivations {
  const { features = [], topK = 5, composed } = options;
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  checkFeatures(sae, features);
  if (!(Number.isInteger(topK) && topK >= 0 && topK <= sae.dSae)) {
    throw new InputError(`topK must be an integer from 0 to ${sae.dSae}, got ${topK}`);
  }
  if (composed) directionFeatures(sae, composed);
  return tidyData(() => {
    const x = hookActivations(model, sae, ids);
    const acts = sae.encode(x); // [pos, d_sae]
    const result: FeatureActivations = {
      tokens: ids,
      pieces: ids.map((id) => model.tokenizer.piece(id)),
      features: listedActivations(acts, features),
      top: topActive(acts, topK),
    };
    if (composed) {
      const probe = encoderProbe(sae, composed);
      const pre = tf.add(tf.matMul(sae.encoderInput(x), tf.expandDims(probe.weights, 1)), probe.bias);
      result.composed = { ...composed, pre: numbers(pre), act: numbers(tf.relu(pre)) };
    }
    return result;
  });
}

/** Each listed feature's activation at every token: gathered and read back once, however many are listed. */
function listedActivations(acts: tf.Tensor2D, features: number[]): Record<string, number[]> {
  if (features.length === 0) return {};
  const [seq] = acts.shape;
  const perFeature = tf.transpose(tf.gather(acts, features, 1)).dataSync(); // [features, pos]
  return Object.fromEntries(features.map((f, j) => [String(f), Array.from(perFeature.subarray(j * seq, (j + 1) * seq))]));
}

/** Per row of acts [pos, d_sae], the `k` largest positive activations. */
function topActive(acts: tf.Tensor2D, k: number): ActiveFeature[][] {
  const [seq] = acts.shape;
  if (k === 0) return Array.from({ length: seq }, () => []);
  const { values, indices } = tf.topk(acts, k);
  const [v, ids] = [values.dataSync(), indices.dataSync()];
  return Array.from({ length: seq }, (_, t) =>
    Array.from({ length: k }, (_, j) => ({ feature: ids[t * k + j], act: v[t * k + j] }))
      .filter(({ act }) => act > 0)
      // topk leaves the order of equal values unspecified
      .sort((a, b) => b.act - a.act || a.feature - b.feature),
  );
}
