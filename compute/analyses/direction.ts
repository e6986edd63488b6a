import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Sae } from '../sae/sae';
import { checkFeatures } from './common';

/**
 * Directions that are not single features (docs/compute.md#composed-directions): several features combined into one direction
 * that the analyses treat like a feature.
 *
 * - As a write direction (logit weights, steering): the mean or sum of the features' decoder rows W_dec[f].
 * - As a read direction (activations on text): a linear probe x'·w + b on the SAE's encoder input x', with w the
 *   mean or sum of the encoder columns W_enc[:, f] and b the same of the encoder biases (b_gate for a gated SAE,
 *   whose gate decides firing as b_enc does elsewhere). Because the pre-activation is linear, the probe is exactly
 *   the mean (or sum) of the features' pre-activations; it is reported as is and rectified, relu(x'·w + b), which
 *   for a single feature of a standard SAE is that feature's activation. Thresholds (JumpReLU) and the top-k
 *   selection are not part of the probe: a composition has no threshold of its own.
 *
 * `mean` keeps the scale of one feature (a unit-norm decoder row stays at most unit norm), `sum` is the direction
 * of the features firing together at activation 1 each, N times the mean.
 */

export const COMPOSE_MODES = ['mean', 'sum'] as const;
export type Compose = (typeof COMPOSE_MODES)[number];

export interface ComposedDirection {
  features: number[];
  compose: Compose;
}

/** Wherever a single feature can be analysed, so can a composed direction. */
export type FeatureDirection = number | ComposedDirection;

/** The features a direction is made of, checked against the SAE. */
export function directionFeatures(sae: Sae, direction: FeatureDirection): number[] {
  const features = typeof direction === 'number' ? [direction] : direction.features;
  if (features.length === 0) throw new InputError('a composed direction needs at least one feature');
  if (typeof direction !== 'number' && !(COMPOSE_MODES as readonly string[]).includes(direction.compose)) {
    throw new InputError(`compose must be one of ${COMPOSE_MODES.join(', ')}, got "${direction.compose}"`);
  }
  checkFeatures(sae, features);
  return features;
}

/** The direction's decoder vector [d_in]: W_dec[f], or the mean/sum of the features' rows. */
export function decoderDirection(sae: Sae, direction: FeatureDirection): tf.Tensor1D {
  const features = directionFeatures(sae, direction);
  return tf.tidy(() => combine<tf.Tensor1D>(tf.gather(sae.weights.W_dec, features), compose(direction)));
}

/** The direction's linear probe on the SAE's encoder input x': value = x'·weights + bias. */
export interface EncoderProbe {
  weights: tf.Tensor1D;
  bias: tf.Scalar;
}

export function encoderProbe(sae: Sae, direction: FeatureDirection): EncoderProbe {
  const features = directionFeatures(sae, direction);
  const { W_enc, b_enc, b_gate } = sae.weights;
  return tf.tidy(() => ({
    weights: combine<tf.Tensor1D>(tf.transpose(tf.gather(W_enc, features, 1)), compose(direction)),
    bias: combine<tf.Scalar>(tf.gather((b_enc ?? b_gate)!, features), compose(direction)),
  }));
}

function compose(direction: FeatureDirection): Compose {
  // a single feature is the mean of itself
  return typeof direction === 'number' ? 'mean' : direction.compose;
}

/** The mean or sum over the first axis: rows [n, d] → [d], values [n] → scalar. */
function combine<T extends tf.Tensor>(rows: tf.Tensor, how: Compose): T {
  return how === 'mean' ? tf.mean<T>(rows, 0) : tf.sum<T>(rows, 0);
}
