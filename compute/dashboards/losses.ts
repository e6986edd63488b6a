import * as tf from '@tensorflow/tfjs-core';
import type { HookFn, LanguageModel } from '../model/types';

/**
 * Next-token cross-entropy −ln softmax(logits[b, t])[ids[b][t+1]] for t = 0..T−2, row-major [batch·(T−1)].
 * Computed as logsumexp − target logit, so no [batch, T, vocab] log-softmax is materialised.
 */
export function nextTokenLosses(logits: tf.Tensor3D, ids: number[][]): Float32Array {
  const [batch, seqLen, vocab] = logits.shape;
  const predicted = seqLen - 1;
  const targets = new Int32Array(batch * predicted);
  ids.forEach((row, b) => {
    for (let t = 0; t < predicted; t++) targets[b * predicted + t] = (b * seqLen + t) * vocab + row[t + 1];
  });
  const { logSumExp, targetLogits } = tf.tidy(() => ({
    logSumExp: tf.logSumExp(logits, -1).dataSync() as Float32Array,
    targetLogits: tf.gather(tf.reshape(logits, [-1]), tf.tensor1d(targets, 'int32')).dataSync() as Float32Array,
  }));
  const losses = new Float32Array(batch * predicted);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < predicted; t++) {
      const i = b * predicted + t;
      losses[i] = logSumExp[b * seqLen + t] - targetLogits[i];
    }
  }
  return losses;
}

/** Next-token losses of a forward pass with `hooks` run, by hook name (see nextTokenLosses for the layout). */
export function lossesWithHooks(model: LanguageModel, ids: number[][], hooks: Record<string, HookFn>): Float32Array {
  const { logits } = model.forward(ids, { hooks });
  try {
    return nextTokenLosses(logits!, ids);
  } finally {
    logits!.dispose();
  }
}
