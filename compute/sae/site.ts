import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Activation, HookFn } from '../model/types';
import type { Sae } from './sae';

/**
 * Where an SAE sits in a model: it encodes the activation at its input hook (cfg hook_name) and its decoder writes at
 * its output hook, the same hook for an SAE and cfg hook_name_out for a transcoder. Ablation and steering act at the
 * output hook. At a per-head hook (reshape_activations "hook_z") the SAE sees the heads concatenated:
 * [batch, pos, head, d_head] is read as [batch, pos, head·d_head], the layout SAELens's hook_z reshape gives.
 */

export function inputHook(sae: Sae): string {
  return sae.cfg.hookName;
}

export function outputHook(sae: Sae): string {
  return sae.cfg.hookNameOut;
}

/** [batch, pos, …] → [batch, pos, d]: per-head activations with their heads concatenated, others as they are. */
export function tokenVectors(act: Activation): tf.Tensor3D {
  const [batch, seq] = act.shape;
  return act.rank === 3 ? (act as tf.Tensor3D) : tf.reshape(act, [batch, seq, -1]);
}

/** [batch, pos, …] → [batch·pos, d], one row per token (heads concatenated). */
export function tokenRows(act: Activation): tf.Tensor2D {
  const [batch, seq] = act.shape;
  return tf.reshape(act, [batch * seq, -1]);
}

/**
 * A hook written for [batch, pos, d] activations, usable at any hook an SAE sits on: at a per-head hook it sees the
 * heads concatenated, and what it returns is split back into heads.
 */
export function tokenVectorHook(fn: (x: tf.Tensor3D) => tf.Tensor3D | void): HookFn {
  return (act) => {
    const out = fn(tokenVectors(act));
    return out && (act.rank === 3 ? out : (tf.reshape(out, act.shape) as Activation));
  };
}

/**
 * Refuses hooks an SAE cannot be trained or evaluated on: attention patterns and scores (a row per query, not a
 * vector per token) and per-head q, k, v (SAELens reshapes only hook_z's heads into one vector).
 */
export function checkSaeHook(hookName: string): void {
  if (/\.attn\.hook_(q|k|v|pattern|attn_scores)$/.test(hookName)) {
    throw new InputError(`an SAE needs one vector per token; "${hookName}" is not one (of the attention hooks, only attn.hook_z, heads concatenated, is)`);
  }
}
