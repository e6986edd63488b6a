import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import { checkSaeHook } from '../sae/site';

export interface CollectOptions {
  /** contexts per forward pass */
  batchSize?: number;
}

/**
 * The activations at `hookName` for every position of every context (per-head hook_z: heads concatenated), one yield per forward pass of `batchSize`
 * contexts: a Float32Array of [contexts × positions, d] rows, context-major. The forward pass stops at the hook,
 * so later blocks and the unembedding are not computed.
 */
export async function* collectHookActivations(
  model: LanguageModel,
  contexts: number[][],
  hookName: string,
  { batchSize = 16 }: CollectOptions = {},
): AsyncGenerator<Float32Array> {
  if (!model.hookNames.includes(hookName)) {
    throw new InputError(`unknown hook "${hookName}"; this model has ${model.hookNames.join(', ')}`);
  }
  checkSaeHook(hookName);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
  for (let start = 0; start < contexts.length; start += batchSize) {
    const { cache } = model.forward(contexts.slice(start, start + batchSize), { capture: [hookName], stopAt: hookName });
    const act = cache.get(hookName)!;
    const rows = act.dataSync() as Float32Array;
    tf.dispose([...cache.values()]);
    yield rows;
  }
}

/** The width of one token's activation at `hookName` (d_model, d_mlp, heads·d_head, ...), from a one-token forward pass. */
export function hookWidth(model: LanguageModel, hookName: string): number {
  const { cache } = model.forward([[model.tokenizer.bosId]], { capture: [hookName], stopAt: hookName });
  const act = cache.get(hookName)!;
  const width = act.size;
  tf.dispose([...cache.values()]);
  return width;
}
