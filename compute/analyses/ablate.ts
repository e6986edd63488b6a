import * as tf from '@tensorflow/tfjs-core';
import { nextTokenLosses } from '../dashboards/losses';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { inputHook, tokenRows } from '../sae/site';
import { checkFeatures, checkSaeForModel, checkTokens, numbers, tidyData } from './common';
import { decoderDirection } from './direction';
import { interventionPositions, logitsWithShift } from './intervene';

export const ABLATION_MODES = ['zero', 'clamp'] as const;
export type AblationMode = (typeof ABLATION_MODES)[number];

export interface AblateOptions {
  /** where to intervene (default: every position) */
  positions?: number[];
  /** zero: remove the feature's contribution; clamp: set the feature's activation to `value` */
  mode?: AblationMode;
  value?: number;
  /** how many of the most decreased last-position logits to list (default 10) */
  top?: number;
}

export interface TokenDelta {
  id: number;
  piece: string;
  /** ablated − clean */
  delta: number;
}

export interface Ablation {
  tokens: number[];
  /** the feature's activation at each position, before the intervention */
  acts: number[];
  /** next-token loss −ln softmax(logits[t])[ids[t+1]] for t = 0..T−2, as is and with the intervention */
  lossClean: number[];
  lossAblated: number[];
  /** the last position's logits that fell most, most decreased first */
  logitDeltas: TokenDelta[];
  /** KL(clean ‖ ablated) of the next-token distributions at each position t = 0..T−1 */
  kl: number[];
}

/**
 * Ablates (or clamps) one feature at the SAE's output hook (a transcoder's hook_name_out) and compares the model's predictions with the clean run
 * (docs/compute.md#ablation). Zero: x ← x − acts_f·W_dec[f]; clamp: x ← x + (v − acts_f)·W_dec[f]; at the chosen
 * positions only. The SAE is not spliced in, so its error term x − x̂ stays in the activation.
 */
export function ablateFeature(model: LanguageModel, sae: Sae, ids: number[], feature: number, options: AblateOptions = {}): Ablation {
  const { mode = 'zero', value, top = 10 } = options;
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  checkFeatures(sae, [feature]);
  if (!(ABLATION_MODES as readonly string[]).includes(mode)) throw new InputError(`mode must be one of ${ABLATION_MODES.join(', ')}, got "${mode}"`);
  if (mode === 'clamp' && !(typeof value === 'number' && Number.isFinite(value))) throw new InputError('clamping needs a finite value to clamp the activation to');
  if (mode === 'zero' && value !== undefined) throw new InputError('a value is only used with mode clamp');
  const vocab = model.config.vocabSize;
  if (!(Number.isInteger(top) && top >= 1 && top <= vocab)) throw new InputError(`top must be an integer from 1 to ${vocab}, got ${top}`);
  const positions = interventionPositions(ids.length, options.positions);

  return tidyData(() => {
    const hook = inputHook(sae);
    const { logits, cache } = model.forward([ids], { capture: [hook] });
    const clean = logits!;
    const x = cache.get(hook)!;
    let acts: number[];
    try {
      acts = numbers(tf.gather(sae.encode(tokenRows(x)), [feature], 1));
    } finally {
      x.dispose(); // captured activations are kept outside any tidy
    }
    // the amount to move along W_dec[f] so that the feature's contribution becomes that of activation `goal`
    const goal = mode === 'zero' ? 0 : value!;
    const amounts = new Array<number>(ids.length).fill(0);
    for (const t of positions) amounts[t] = goal - acts[t];
    const ablated = logitsWithShift(model, sae, [ids], decoderDirection(sae, feature), [amounts]);

    return {
      tokens: ids,
      acts,
      lossClean: Array.from(nextTokenLosses(clean, [ids])),
      lossAblated: Array.from(nextTokenLosses(ablated, [ids])),
      logitDeltas: mostDecreased(model, clean, ablated, top),
      kl: numbers(klPerPosition(clean, ablated)),
    };
  });
}

/** KL(p ‖ q) at each position of one sequence's logits [1, pos, vocab] → [pos]. */
function klPerPosition(p: tf.Tensor3D, q: tf.Tensor3D): tf.Tensor1D {
  const logP = tf.logSoftmax(p);
  const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(q))), -1);
  // KL ≥ 0; float32 rounding can leave identical distributions a hair below 0
  return tf.reshape(tf.relu(kl), [-1]);
}

/** The `k` tokens whose last-position logit fell most from `clean` to `ablated`. */
function mostDecreased(model: LanguageModel, clean: tf.Tensor3D, ablated: tf.Tensor3D, k: number): TokenDelta[] {
  const last = (logits: tf.Tensor3D) => tf.reshape(tf.slice(logits, [0, logits.shape[1] - 1, 0], [1, 1, -1]), [-1]);
  const { values, indices } = tf.topk(tf.sub(last(clean), last(ablated)), k);
  const drops = values.dataSync();
  return Array.from(indices.dataSync(), (id, j) => ({ id, piece: model.tokenizer.piece(id), delta: -drops[j] }));
}
