import { collectHookActivations, hookWidth } from '../analyses/activations-at-hook';
import type { LanguageModel } from '../model/types';
import { trainSae, type TrainSaeOptions, type TrainSaeResult } from './train';

export interface TrainSaeAtHookOptions extends Omit<TrainSaeOptions, 'activations' | 'dIn'> {
  hookName: string;
  /** contexts per forward pass while collecting activations */
  contextsPerBatch?: number;
  /** called after each forward pass with the contexts done so far */
  onActivationProgress?: (done: number, total: number) => void;
}

/** Trains an SAE on the model's activations at `hookName` over every position of `contexts`. */
export async function trainSaeAtHook(
  model: LanguageModel,
  contexts: number[][],
  options: TrainSaeAtHookOptions,
): Promise<TrainSaeResult & { dIn: number }> {
  const { hookName, contextsPerBatch = 16, onActivationProgress, ...training } = options;
  const dIn = hookWidth(model, hookName);
  async function* activations() {
    let done = 0;
    for await (const rows of collectHookActivations(model, contexts, hookName, { batchSize: contextsPerBatch })) {
      done = Math.min(done + contextsPerBatch, contexts.length);
      onActivationProgress?.(done, contexts.length);
      yield rows;
    }
  }
  return { ...(await trainSae({ ...training, activations: activations(), dIn })), dIn };
}
