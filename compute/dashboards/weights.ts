import * as tf from '@tensorflow/tfjs-core';
import { tidyData } from '../analyses/common';
import { featureStats } from '../analyses/feature-stats';
import { directionLogits, logitChunkSize, rankLogits } from '../analyses/logit-weights';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { histogramOf } from './histogram';
import type { FeatureDashboard } from './types';

export type FeatureWeights = Pick<
  FeatureDashboard,
  'logitWeights' | 'logitFoldLn' | 'logitHistogram' | 'encoderBias' | 'encoderNorm' | 'decoderNorm' | 'deDot' | 'deCos'
>;

/** How many features featureWeights should be given at once (their logit rows are computed together). */
export const weightsChunkSize = logitChunkSize;

/**
 * The weight-based part of the dashboards of `features`: logit weights W_dec[f]·W_U (final norm folded in or not) with the histogram of all
 * vocabulary entries (analyses/logit-weights.ts has the definition), and the encoder/decoder statistics
 * (analyses/feature-stats.ts).
 */
export function featureWeights(
  model: LanguageModel,
  sae: Sae,
  features: number[],
  options: { logitWeightCount: number; histogramBins: number; foldLn: boolean },
): FeatureWeights[] {
  const vocab = model.config.vocabSize;
  const k = Math.min(options.logitWeightCount, vocab);
  const { logits, ranked } = tidyData(() => {
    const rows = directionLogits(model, sae, tf.gather(sae.weights.W_dec, features), options); // [features, vocab]
    return { logits: rows.dataSync() as Float32Array, ranked: rankLogits(rows, k) };
  });
  return featureStats(sae, features).map(({ feature: _, ...stats }, i) => ({
    logitWeights: ranked[i],
    logitFoldLn: options.foldLn,
    logitHistogram: histogramOf(logits.subarray(i * vocab, (i + 1) * vocab), options.histogramBins),
    ...stats,
  }));
}
