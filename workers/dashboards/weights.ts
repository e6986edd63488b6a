import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { histogramOf } from './histogram';
import type { FeatureDashboard } from './types';

export type FeatureWeights = Pick<
  FeatureDashboard,
  'logitWeights' | 'logitHistogram' | 'encoderBias' | 'encoderNorm' | 'decoderNorm' | 'deDot' | 'deCos'
>;

/** Logit rows are computed this many floats at a time (all of 24576 features × 50257 tokens would be 5 GB). */
const LOGIT_CHUNK_ELEMENTS = 1 << 22;

/** How many features featureWeights should be given at once. */
export function weightsChunkSize(model: LanguageModel): number {
  return Math.max(1, Math.floor(LOGIT_CHUNK_ELEMENTS / model.config.vocabSize));
}

/**
 * Logit weights (DESIGN.md): W_dec[f]·W_U on the direct path, without the final norm. An SAE on
 * `blocks.L.mlp.hook_post` lives in MLP-neuron space, so its decoder rows first go through that MLP's output
 * weights into the residual stream. Also the encoder/decoder statistics of the same features.
 */
export function featureWeights(
  model: LanguageModel,
  sae: Sae,
  features: number[],
  options: { logitWeightCount: number; histogramBins: number },
): FeatureWeights[] {
  const { W_enc, W_dec, b_enc, b_gate } = sae.weights;
  const readOut = residualMap(model, sae);
  const vocab = model.config.vocabSize;
  const k = Math.min(options.logitWeightCount, vocab);
  const w = tf.tidy(() => {
    const index = tf.tensor1d(features, 'int32');
    const decoder = tf.gather(W_dec, index); // [c, d_in]
    const encoder = tf.transpose(tf.gather(W_enc, index, 1)); // [c, d_in]
    const logits = tf.matMul(readOut ? tf.matMul(decoder, readOut) : decoder, model.unembed); // [c, vocab]
    const top = tf.topk(logits, k);
    const bottom = tf.topk(tf.neg(logits), k);
    return {
      logits: logits.dataSync() as Float32Array,
      topIds: top.indices.dataSync() as Int32Array,
      topValues: top.values.dataSync() as Float32Array,
      bottomIds: bottom.indices.dataSync() as Int32Array,
      negatedBottomValues: bottom.values.dataSync() as Float32Array,
      // a gated SAE's gate bias decides whether a feature fires, as b_enc does elsewhere
      bias: tf.gather((b_enc ?? b_gate)!, index).dataSync() as Float32Array,
      encoderNorms: tf.norm(encoder, 'euclidean', 1).dataSync() as Float32Array,
      decoderNorms: tf.norm(decoder, 'euclidean', 1).dataSync() as Float32Array,
      deDots: tf.sum(tf.mul(encoder, decoder), 1).dataSync() as Float32Array,
    };
  });
  return features.map((_, i) => {
    const tokens = (ids: Int32Array, values: Float32Array, sign: number) =>
      Array.from({ length: k }, (_, j) => ({ id: ids[i * k + j], value: sign * values[i * k + j] }));
    return {
      logitWeights: { top: tokens(w.topIds, w.topValues, 1), bottom: tokens(w.bottomIds, w.negatedBottomValues, -1) },
      logitHistogram: histogramOf(w.logits.subarray(i * vocab, (i + 1) * vocab), options.histogramBins),
      encoderBias: w.bias[i],
      encoderNorm: w.encoderNorms[i],
      decoderNorm: w.decoderNorms[i],
      deDot: w.deDots[i],
      deCos: w.deDots[i] / (w.encoderNorms[i] * w.decoderNorms[i]),
    };
  });
}

/** The matrix taking the SAE's hook space to the residual stream: W_out for mlp.hook_post, none elsewhere. */
function residualMap(model: LanguageModel, sae: Sae): tf.Tensor2D | undefined {
  const mlpPost = /^blocks\.(\d+)\.mlp\.hook_post$/.exec(sae.cfg.hookName);
  if (mlpPost) return model.mlpOut(Number(mlpPost[1]));
  if (sae.dIn !== model.config.dModel) {
    throw new InputError(`the SAE's d_in is ${sae.dIn} but ${sae.cfg.hookName} has the model's width ${model.config.dModel}`);
  }
  return undefined;
}
