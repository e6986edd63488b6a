/*
 * The SAE evals' forward passes, batch by batch, and the evals of one range of a corpus's contexts: what a dashboard
 * run's eval shards compute (server/dashboard-shards.ts), so that several workers share the evals' passes over one
 * corpus. Their sums merge exactly as one pass would have added them, but for the order of the float64 additions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Activation, HookFn, LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { inputHook, outputHook, tokenVectors } from '../sae/site';
import { EvalAccumulator, type EvalSums } from './evals';
import { lossesWithHooks, nextTokenLosses } from './losses';
import { equalLengthBatches, flatten, ProgressTracker, Stopwatch } from './passes';
import type { DashboardProgress, DashboardTimings } from './types';

/** Runs a part of the work, timed as that part (Stopwatch.time). */
type Timed = Stopwatch['time'];

/**
 * The evals' first pass over a batch: the clean forward pass (capturing the SAE's hooks), the SAE, and the passes with
 * its reconstruction spliced in and with the hook zeroed, added to `evals`. `use` sees, within the same tidy, the
 * hook activations [batch, T, d_in], the SAE activations [batch·T, d_sae] and the clean losses.
 */
export function evalBatch(
  model: LanguageModel,
  sae: Sae,
  ids: number[][],
  evals: EvalAccumulator,
  time: Timed,
  use?: (x: tf.Tensor3D, acts: tf.Tensor2D, clean: Float32Array) => void,
): void {
  const [hook, outHook] = [inputHook(sae), outputHook(sae)];
  const { logits, cache } = time('model', () => model.forward(ids, { capture: [hook, outHook] }));
  const x = tokenVectors(cache.get(hook)!);
  // what the SAE reconstructs: its input, or a transcoder's output hook
  const target = cache.get(outHook)!;
  try {
    tf.tidy(() => {
      const clean = time('model', () => nextTokenLosses(logits!, ids));
      const { acts, reconstruction } = time('sae', () => sae.forward(flatten(x)));
      const spliced = time('model', () => lossesWithHooks(model, ids, { [outHook]: () => tf.reshape(reconstruction, target.shape) as Activation }));
      const zeroAblated = time('model', () => lossesWithHooks(model, ids, { [outHook]: (act) => tf.zerosLike(act) }));
      time('bookkeeping', () => {
        evals.addReconstruction(tokenVectors(target), acts, reconstruction);
        evals.addLosses('clean', clean, ids.length);
        evals.addLosses('spliced', spliced, ids.length);
        evals.addLosses('zeroAblated', zeroAblated, ids.length);
        use?.(x, acts, clean);
      });
    });
  } finally {
    tf.dispose([logits!, x, ...cache.values()]); // for hook_z, x is a reshape of a cached tensor
  }
}

/**
 * The evals' second pass over a batch: the forward pass with the SAE's output hook replaced by `mean` (the corpus mean
 * of the hook activations), its losses added to `evals`. `use` sees the SAE's input hook activations [batch, T, d_in],
 * recorded on the way (disposed after it).
 */
export function meanAblatedBatch(model: LanguageModel, sae: Sae, ids: number[][], mean: tf.Tensor1D, evals: EvalAccumulator, time: Timed, use?: (x: tf.Tensor3D) => void): void {
  const [hook, outHook] = [inputHook(sae), outputHook(sae)];
  const recorded: { x?: tf.Tensor3D } = {};
  const record = (act: Activation) => {
    if (use) recorded.x = tf.keep(tf.clone(tokenVectors(act)));
  };
  const meanAblate = (act: Activation) => tf.reshape(tf.broadcastTo(mean, tokenVectors(act).shape), act.shape) as Activation;
  try {
    // one forward pass reads the SAE's input and mean-ablates its output hook (the same hook but for a transcoder)
    const hooks: Record<string, HookFn> = hook === outHook ? { [hook]: (act) => (record(act), meanAblate(act)) } : { [hook]: record, [outHook]: meanAblate };
    const ablated = time('model', () => lossesWithHooks(model, ids, hooks));
    time('bookkeeping', () => evals.addLosses('ablated', ablated, ids.length));
    if (recorded.x) tf.tidy(() => use!(recorded.x!));
  } finally {
    recorded.x?.dispose();
  }
}

export interface EvalRangeOptions {
  model: LanguageModel;
  sae: Sae;
  /** the whole corpus (its longest context sets the positions every range's sums cover) */
  contexts: number[][];
  /** contexts first..first+count−1 */
  first: number;
  count: number;
  batchSize: number;
  /**
   * absent: the first pass (reconstruction, clean, spliced and zero-ablated losses, the hook's mean); the corpus mean
   * of the hook activations (merged from every range's first pass): the second, the mean-ablated losses
   */
  mean?: Float32Array;
  onProgress?: (progress: DashboardProgress) => void | Promise<void>;
  signal?: AbortSignal;
}

/** One range of the corpus through one of the evals' passes: its sums, to merge with the other ranges' (EvalAccumulator.merge). */
export async function computeEvalRange(options: EvalRangeOptions): Promise<{ sums: EvalSums; timings: DashboardTimings }> {
  const { model, sae, contexts, first, count, mean } = options;
  if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count > 0 && first + count <= contexts.length)) {
    throw new InputError(`contexts ${first}..${first + count - 1} are not a range of the corpus's ${contexts.length} contexts`);
  }
  if (mean && mean.length !== sae.cfg.dOut) throw new InputError(`the mean activation has ${mean.length} dimensions, the SAE's hook ${sae.cfg.dOut}`);
  const range = contexts.slice(first, first + count);
  const nTokens = range.reduce((n, context) => n + context.length, 0);
  const longest = contexts.reduce((max, context) => Math.max(max, context.length), 0);
  const evals = new EvalAccumulator(sae.cfg.dOut, sae.dSae, longest);
  const clock = new Stopwatch();
  const time: Timed = (part, work) => clock.time(part, work);
  const progress = new ProgressTracker(nTokens, options.onProgress, options.signal);
  progress.startClock();
  const meanTensor = mean && tf.tensor1d(mean);
  try {
    for (const { items } of equalLengthBatches(range, (context) => context, options.batchSize)) {
      if (meanTensor) meanAblatedBatch(model, sae, items, meanTensor, evals, time);
      else evalBatch(model, sae, items, evals, time);
      await progress.advance(meanTensor ? 'mean-ablation' : 'evals', items.length * items[0].length);
    }
  } finally {
    meanTensor?.dispose();
  }
  return { sums: evals.sums(), timings: clock.timings(nTokens) };
}
