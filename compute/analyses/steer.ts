import * as tf from '@tensorflow/tfjs-core';
import { nextTokenLosses } from '../dashboards/losses';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { checkSaeForModel, checkTokens, tidyData } from './common';
import { decoderDirection, type FeatureDirection } from './direction';
import { logitsWithShift } from './intervene';

/** Coefficients run together in one batched forward pass are limited so their logits stay near this many floats. */
const STEER_LOGIT_ELEMENTS = 1 << 24;
/** A scan longer than this is more likely a typo than a plan. */
const MAX_COEFFICIENTS = 1000;

export interface SteerOptions {
  coefficients: number[];
  /** a token whose last-position logit is reported for every coefficient */
  targetToken?: number;
  /** how many of the most likely next tokens at the last position to list (default 5) */
  top?: number;
}

export interface TokenProbability {
  id: number;
  piece: string;
  prob: number;
}

export interface SteeringResult {
  coefficient: number;
  /** mean next-token loss over the prompt (null for a one-token prompt, which predicts nothing checkable) */
  loss: number | null;
  /** the most likely next tokens at the last position */
  top: TokenProbability[];
  /** the target token's logit at the last position (null without a target) */
  targetLogit: number | null;
}

export interface Steering {
  tokens: number[];
  target: { id: number; piece: string } | null;
  coefficients: number[];
  results: SteeringResult[];
}

/**
 * Steering (docs/compute.md#steering): x ← x + c·W_dec[f] at every position of the SAE's hook, for each
 * coefficient c of a scan; a composed direction steers along its combined decoder row instead.
 */
export function steer(model: LanguageModel, sae: Sae, ids: number[], direction: FeatureDirection, options: SteerOptions): Steering {
  const { coefficients, targetToken, top = 5 } = options;
  const vocab = model.config.vocabSize;
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  if (coefficients.length === 0 || coefficients.length > MAX_COEFFICIENTS) {
    throw new InputError(`give from 1 to ${MAX_COEFFICIENTS} coefficients, got ${coefficients.length}`);
  }
  const bad = coefficients.find((c) => !Number.isFinite(c));
  if (bad !== undefined) throw new InputError(`coefficient ${bad} is not a finite number`);
  if (targetToken !== undefined && !(Number.isInteger(targetToken) && targetToken >= 0 && targetToken < vocab)) {
    throw new InputError(`target token ${targetToken} is out of range: the vocabulary has ids 0..${vocab - 1}`);
  }
  if (!(Number.isInteger(top) && top >= 1 && top <= vocab)) throw new InputError(`top must be an integer from 1 to ${vocab}, got ${top}`);

  const decoder = decoderDirection(sae, direction);
  try {
    const perPass = Math.max(1, Math.floor(STEER_LOGIT_ELEMENTS / (ids.length * vocab)));
    const results: SteeringResult[] = [];
    for (let start = 0; start < coefficients.length; start += perPass) {
      const batch = coefficients.slice(start, start + perPass);
      results.push(...tidyData(() => steerBatch(model, sae, ids, decoder, batch, { targetToken, top })));
    }
    return {
      tokens: ids,
      target: targetToken === undefined ? null : { id: targetToken, piece: model.tokenizer.piece(targetToken) },
      coefficients,
      results,
    };
  } finally {
    decoder.dispose();
  }
}

/** One forward pass with one batch row per coefficient. */
function steerBatch(
  model: LanguageModel,
  sae: Sae,
  ids: number[],
  decoder: tf.Tensor1D,
  coefficients: number[],
  { targetToken, top }: { targetToken?: number; top: number },
): SteeringResult[] {
  const rows = coefficients.map(() => ids);
  const amounts = coefficients.map((c) => new Array<number>(ids.length).fill(c));
  const logits = logitsWithShift(model, sae, rows, decoder, amounts); // [coefficients, pos, vocab]
  const predicted = ids.length - 1;
  const losses = nextTokenLosses(logits, rows);

  const last = tf.reshape(tf.slice(logits, [0, ids.length - 1, 0], [-1, 1, -1]), [coefficients.length, -1]) as tf.Tensor2D;
  const { values, indices } = tf.topk(last, top);
  const probs = tf.exp(tf.sub(values, tf.logSumExp(last, -1, true))).dataSync();
  const topIds = indices.dataSync();
  const targetLogits = targetToken === undefined ? undefined : tf.gather(last, [targetToken], 1).dataSync();

  return coefficients.map((coefficient, b) => {
    let sum = 0;
    for (let t = 0; t < predicted; t++) sum += losses[b * predicted + t];
    return {
      coefficient,
      loss: predicted > 0 ? sum / predicted : null,
      top: Array.from({ length: top }, (_, j) => {
        const id = topIds[b * top + j];
        return { id, piece: model.tokenizer.piece(id), prob: probs[b * top + j] };
      }),
      targetLogit: targetLogits ? targetLogits[b] : null,
    };
  });
}
