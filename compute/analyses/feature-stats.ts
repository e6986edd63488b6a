import * as tf from '@tensorflow/tfjs-core';
import type { Sae } from '../sae/sae';
import { checkFeatures, tidyData } from './common';

/**
 * Per-feature weight statistics (docs/compute.md#weight-statistics): encoder bias, encoder and decoder norms, and the D/E
 * projection W_enc[:, f]·W_dec[f] as a dot product and a cosine. Live features sit near D/E ≈ 1; ultra-rare ones
 * spread around 0, often with large negative biases.
 */

export interface FeatureStats {
  feature: number;
  /** b_enc[f] (b_gate[f] for a gated SAE, whose gate decides firing as b_enc does elsewhere) */
  encoderBias: number;
  /** ‖W_enc[:, f]‖ */
  encoderNorm: number;
  /** ‖W_dec[f]‖ */
  decoderNorm: number;
  /** W_enc[:, f]·W_dec[f]; 0 for a transcoder, whose encoder and decoder live at different hooks */
  deDot: number;
  /** deDot / (encoderNorm·decoderNorm); 0 when either vector is zero, and for a transcoder */
  deCos: number;
}

/** Features per chunk: the gathered encoder columns and decoder rows are two [chunk, d_in] copies. */
const STATS_CHUNK_FEATURES = 4096;

/** The statistics of `features` (default: all), in the order given. */
export function featureStats(sae: Sae, features?: number[]): FeatureStats[] {
  const wanted = features ?? Array.from({ length: sae.dSae }, (_, f) => f);
  checkFeatures(sae, wanted);
  const { W_enc, W_dec, b_enc, b_gate } = sae.weights;
  const transcoder = sae.cfg.hookNameOut !== sae.cfg.hookName;
  const stats: FeatureStats[] = [];
  for (let start = 0; start < wanted.length; start += STATS_CHUNK_FEATURES) {
    const chunk = wanted.slice(start, start + STATS_CHUNK_FEATURES);
    const [bias, encoderNorm, decoderNorm, deDot] = tidyData(() => {
      const index = tf.tensor1d(chunk, 'int32');
      const encoder = tf.transpose(tf.gather(W_enc, index, 1)); // [chunk, d_in]
      const decoder = tf.gather(W_dec, index); // [chunk, d_out]
      return [
        tf.gather((b_enc ?? b_gate)!, index),
        tf.norm(encoder, 'euclidean', 1),
        tf.norm(decoder, 'euclidean', 1),
        transcoder ? tf.zeros([chunk.length]) : tf.sum(tf.mul(encoder, decoder), 1),
      ].map((t) => t.dataSync());
    });
    chunk.forEach((feature, i) => {
      const norms = encoderNorm[i] * decoderNorm[i];
      stats.push({
        feature,
        encoderBias: bias[i],
        encoderNorm: encoderNorm[i],
        decoderNorm: decoderNorm[i],
        deDot: deDot[i],
        // clamped: float32 rounding can put a cosine of (anti)parallel vectors a hair outside [-1, 1]
        deCos: norms > 0 ? Math.max(-1, Math.min(1, deDot[i] / norms)) : 0,
      });
    });
  }
  return stats;
}
