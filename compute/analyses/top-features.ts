import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { checkSaeForModel, checkTokens, hookActivations, tidyData } from './common';

export interface PromptFeature {
  feature: number;
  /** its largest activation over the text */
  maxAct: number;
  /** where it peaks (the first such position on a tie) */
  position: number;
  /** how many tokens it fires on (activation > 0) */
  firing: number;
}

export interface PromptFeatures {
  tokens: number[];
  pieces: string[];
  /** the features that fire on the text, largest maximum first (ties: lower index first), at most `top` */
  features: PromptFeature[];
}

/**
 * Search by inference: which of the SAE's features fire most on one token sequence. The model runs up to the SAE's
 * hook and the SAE encodes every position (as featureActivations does); each feature is ranked by its maximum.
 */
export function topFeatures(model: LanguageModel, sae: Sae, ids: number[], options: { top?: number } = {}): PromptFeatures {
  const { top = 20 } = options;
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  if (!(Number.isInteger(top) && top >= 1)) throw new InputError(`top must be a positive integer, got ${top}`);
  return tidyData(() => {
    const acts = sae.encode(hookActivations(model, sae, ids)); // [pos, d_sae]
    const { indices } = tf.topk(tf.max(acts, 0), Math.min(top, sae.dSae));
    const chosen = tf.gather(acts, indices, 1); // [pos, k]
    const [features, maxes, positions, firing] = [
      indices.dataSync(),
      tf.max(chosen, 0).dataSync(),
      tf.argMax(chosen, 0).dataSync(),
      tf.sum(tf.cast(tf.greater(chosen, 0), 'int32'), 0).dataSync(),
    ];
    return {
      tokens: ids,
      pieces: ids.map((id) => model.tokenizer.piece(id)),
      features: Array.from(features, (feature, j) => ({ feature, maxAct: maxes[j]!, position: positions[j]!, firing: firing[j]! }))
        .filter((f) => f.maxAct > 0)
        // topk leaves the order of equal values unspecified
        .sort((a, b) => b.maxAct - a.maxAct || a.feature - b.feature),
    };
  });
}
