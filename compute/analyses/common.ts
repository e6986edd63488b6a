import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { validateIds } from '../model/common';
import type { LanguageModel } from '../model/types';
import { validateSaeForModel } from '../sae/load';
import type { Sae } from '../sae/sae';
import { inputHook, tokenRows } from '../sae/site';

/** What the SAE analyses share: input checks, the activation at the SAE's hook, and tensor bookkeeping. */

/** Checks that `sae` can be attached to `model`: its hook exists there and has width d_in. */
export function checkSaeForModel(model: LanguageModel, sae: Sae): void {
  validateSaeForModel(sae, { ...model.config, hookNames: model.hookNames });
}

/** Checks a token sequence before any work is done: not empty, within the context, ids in the vocabulary. */
export function checkTokens(model: LanguageModel, ids: number[]): void {
  validateIds([ids], model.config);
}

/** Checks that every feature index is one of the SAE's, and that none is listed twice. */
export function checkFeatures(sae: Sae, features: readonly number[]): void {
  const seen = new Set<number>();
  for (const f of features) {
    if (!Number.isInteger(f) || f < 0 || f >= sae.dSae) {
      throw new InputError(`feature ${f} is out of range: this SAE has features 0..${sae.dSae - 1}`);
    }
    if (seen.has(f)) throw new InputError(`feature ${f} is listed twice`);
    seen.add(f);
  }
}

/** The activation at the SAE's input hook for one sequence, [pos, d_in]; the forward pass stops there. */
export function hookActivations(model: LanguageModel, sae: Sae, ids: number[]): tf.Tensor2D {
  const hook = inputHook(sae);
  const { cache } = model.forward([ids], { capture: [hook], stopAt: hook });
  const x = cache.get(hook)!;
  const rows = tokenRows(x);
  x.dispose();
  return rows;
}

/**
 * tf.tidy for a function that returns plain data (numbers, arrays, objects): every tensor it makes is disposed.
 * Unlike tf.tidy's own result, the data is not searched for tensors to keep, which is slow for large arrays.
 */
export function tidyData<T>(fn: () => T): T {
  let result!: T;
  tf.tidy(() => {
    result = fn();
  });
  return result;
}

/** A list of numbers from a tensor. */
export function numbers(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}
