import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { outputHook, tokenVectorHook } from '../sae/site';

/**
 * Interventions at the SAE's output hook (docs/compute.md#ablation, #steering): the activation is moved along one direction
 * (a decoder row, or a composed direction) by an amount per sequence and position, and the model runs on to the
 * logits. Zero-ablation (amount −acts_f), clamping (v − acts_f) and steering (c) are all this one operation; the
 * rest of the activation, SAE error term included, is left as it was.
 */

/** x + amounts[b][t]·direction, for x [batch, pos, d] and direction [d]. */
export function shiftAlong(x: tf.Tensor3D, direction: tf.Tensor1D, amounts: number[][]): tf.Tensor3D {
  const [batch, seq] = x.shape;
  if (amounts.length !== batch || amounts.some((row) => row.length !== seq)) {
    throw new Error(`shiftAlong: amounts must be [${batch}][${seq}], got [${amounts.length}][${amounts[0]?.length}]`);
  }
  return tf.tidy(() => tf.add(x, tf.mul(tf.tensor3d(amounts.flat(), [batch, seq, 1]), direction)));
}

/** The logits [batch, pos, vocab] of `ids` with the activation at the SAE's output hook shifted by `amounts` along `direction`. */
export function logitsWithShift(
  model: LanguageModel,
  sae: Sae,
  ids: number[][],
  direction: tf.Tensor1D,
  amounts: number[][],
): tf.Tensor3D {
  const { logits } = model.forward(ids, { hooks: { [outputHook(sae)]: tokenVectorHook((x) => shiftAlong(x, direction, amounts)) } });
  return logits!;
}

/** The positions to intervene at: `positions` checked against the sequence length, or all of them. */
export function interventionPositions(seqLen: number, positions?: number[]): number[] {
  if (positions === undefined) return Array.from({ length: seqLen }, (_, t) => t);
  if (positions.length === 0) throw new InputError('no positions given to intervene at');
  for (const t of positions) {
    if (!(Number.isInteger(t) && t >= 0 && t < seqLen)) {
      throw new InputError(`position ${t} is out of range: the input has positions 0..${seqLen - 1}`);
    }
  }
  return positions;
}
