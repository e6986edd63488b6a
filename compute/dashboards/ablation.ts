import * as tf from '@tensorflow/tfjs-core';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { outputHook, tokenVectorHook } from '../sae/site';
import { lossesWithHooks } from './losses';
import type { ActivationExample } from './types';

/** A feature to ablate in one of its examples (the context, with the feature's activation at every token). */
export interface AblationRow {
  feature: number;
  example: Pick<ActivationExample, 'tokens' | 'acts'>;
}

/**
 * Next-token losses [rows·(T−1)] with each row's feature ablated at the SAE's output hook at every position:
 * x ← x − acts_f·W_dec[f] (docs/compute.md#ablation; the SAE error term is kept, the SAE is not spliced in).
 * All rows must have the same length.
 */
export function ablatedLosses(model: LanguageModel, sae: Sae, rows: AblationRow[]): Float32Array {
  const seqLen = rows[0].example.tokens.length;
  const acts = new Float32Array(rows.length * seqLen);
  rows.forEach((row, b) => acts.set(row.example.acts, b * seqLen));
  return lossesWithHooks(model, rows.map((row) => row.example.tokens), { [outputHook(sae)]: tokenVectorHook((x) => {
    const features = tf.tensor1d(rows.map((row) => row.feature), 'int32');
    const directions = tf.expandDims(tf.gather(sae.weights.W_dec, features), 1); // [batch, 1, d_out]
    return tf.sub(x, tf.mul(tf.tensor3d(acts, [rows.length, seqLen, 1]), directions)) as tf.Tensor3D;
  }) });
}
