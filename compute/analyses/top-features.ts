import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { checkSaeForModel, checkTokens, hookActivations, tidyData } from './common';

export type FeatureRanking = 'max' | 'sum';

export interface PromptFeature {
  feature: number;
  /** its largest activation over the chosen positions */
  maxAct: number;
  /** where it peaks among the chosen positions (the first such position on a tie) */
  position: number;
  /** how many of the chosen positions it fires on (activation > 0) */
  firing: number;
  /** its activations summed over the chosen positions */
  sum: number;
  /** its activation at every token of the text (chosen or not), to shade the text by it */
  acts: number[];
}

export interface PromptFeatures {
  tokens: number[];
  pieces: string[];
  /** the token positions the features were ranked over, ascending */
  positions: number[];
  /** the features that fire on the chosen positions, largest score (max or sum) first (ties: lower index first), at most `top` */
  features: PromptFeature[];
}

export interface TopFeaturesOptions {
  top?: number;
  /** rank by each feature's maximum over the chosen positions, or by its sum over them */
  rank?: FeatureRanking;
  /** the token positions to rank over; all of them when absent */
  positions?: number[];
  /** leave BOS tokens out of the chosen positions (they make many features fire whatever the text) */
  ignoreBos?: boolean;
}

/** The positions to rank over: the given ones (or all), less BOS tokens when ignoring them. */
function chosenPositions(model: LanguageModel, ids: number[], positions: number[] | undefined, ignoreBos: boolean): number[] {
  for (const p of positions ?? []) {
    if (!(Number.isInteger(p) && p >= 0 && p < ids.length)) throw new InputError(`position ${p} is not a token of the text (it has ${ids.length} tokens, positions 0 to ${ids.length - 1})`);
  }
  const given = positions ? [...new Set(positions)].sort((a, b) => a - b) : ids.map((_, p) => p);
  const chosen = ignoreBos ? given.filter((p) => ids[p] !== model.tokenizer.bosId) : given;
  if (chosen.length === 0) throw new InputError('no token positions left to rank over (only BOS tokens were chosen, and BOS is ignored)');
  return chosen;
}

/**
 * Search by inference: which of the SAE's features fire most on one token sequence. The model runs up to the SAE's
 * hook and the SAE encodes every position (as featureActivations does); each feature is ranked by its maximum or its
 * sum over the chosen positions.
 */
export function topFeatures(model: LanguageModel, sae: Sae, ids: number[], options: TopFeaturesOptions = {}): PromptFeatures {
  const { top = 20, rank = 'max', ignoreBos = true } = options;
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  if (!(Number.isInteger(top) && top >= 1)) throw new InputError(`top must be a positive integer, got ${top}`);
  const positions = chosenPositions(model, ids, options.positions, ignoreBos);
  return tidyData(() => {
    const acts = sae.encode(hookActivations(model, sae, ids)); // [pos, d_sae]
    const at = tf.gather(acts, positions, 0); // [chosen, d_sae]
    const score = rank === 'max' ? tf.max(at, 0) : tf.sum(at, 0);
    const { indices } = tf.topk(score, Math.min(top, sae.dSae));
    const chosen = tf.gather(at, indices, 1); // [chosen, k]
    const [features, maxes, peaks, firing, sums, perToken] = [
      indices.dataSync(),
      tf.max(chosen, 0).dataSync(),
      tf.argMax(chosen, 0).dataSync(),
      tf.sum(tf.cast(tf.greater(chosen, 0), 'int32'), 0).dataSync(),
      tf.sum(chosen, 0).dataSync(),
      tf.transpose(tf.gather(acts, indices, 1)).arraySync() as number[][], // [k, pos]
    ];
    const scoreOf = (f: { maxAct: number; sum: number }) => (rank === 'max' ? f.maxAct : f.sum);
    return {
      tokens: ids,
      pieces: ids.map((id) => model.tokenizer.piece(id)),
      positions,
      features: Array.from(features, (feature, j) => ({
        feature,
        maxAct: maxes[j]!,
        position: positions[peaks[j]!]!,
        firing: firing[j]!,
        sum: sums[j]!,
        acts: perToken[j]!,
      }))
        .filter((f) => f.maxAct > 0)
        // topk leaves the order of equal values unspecified
        .sort((a, b) => scoreOf(b) - scoreOf(a) || a.feature - b.feature),
    };
  });
}
