import * as tf from '@tensorflow/tfjs-core';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { checkSaeForModel, checkTokens, hookActivations, tidyData } from './common';

/**
 * Every feature's largest activation over each context (BOS positions left out when `ignoreBos`): [context][feature].
 * A feature whose maximum over a context is 0 does not fire anywhere in it, which makes the context a non-firing
 * example for scoring that feature's explanation (server/explainer).
 */
export function contextMaxima(model: LanguageModel, sae: Sae, contexts: number[][], ignoreBos = true): Float32Array[] {
  checkSaeForModel(model, sae);
  return contexts.map((ids) => {
    checkTokens(model, ids);
    const positions = ids.flatMap((id, p) => (ignoreBos && id === model.tokenizer.bosId ? [] : [p]));
    if (positions.length === 0) return new Float32Array(sae.dSae);
    return tidyData(() => tf.max(tf.gather(sae.encode(hookActivations(model, sae, ids)), positions, 0), 0).dataSync() as Float32Array);
  });
}
