import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import { sampleToken, seededRandom, type Random } from '../random';
import type { Sae } from '../sae/sae';
import { outputHook, tokenVectorHook } from '../sae/site';
import { checkSaeForModel, checkTokens, tidyData } from './common';
import { decoderDirection, type FeatureDirection } from './direction';
import { shiftAlong } from './intervene';

/**
 * Steered generation (docs/compute.md#steered-generation): the model continues a prompt twice from the same seed,
 * once as it is (default) and once with a steering vector v added at the SAE's output hook at every position, prompt
 * and generated tokens alike. Neuronpedia's convention: v = Σ strength_i · W_dec[f_i], the raw decoder rows (a
 * composed direction contributes its combined row), each row divided by its norm first when `normalize` is set.
 */

export interface SteeringTerm {
  direction: FeatureDirection;
  strength: number;
}

export interface SteerGenerateOptions {
  steering: SteeringTerm[];
  /** divide each term's decoder row by its norm before scaling it (Neuronpedia's normalize_steering) */
  normalize?: boolean;
  /** tokens to generate at most per continuation */
  maxTokens: number;
  /** softmax temperature of the sampling; 0 takes the most likely token */
  temperature: number;
  seed: number;
  /** how many of the likeliest tokens to list with their log-probabilities at each generated position */
  topK: number;
  /** called after each step: the tokens both continuations have generated so far */
  onProgress?: (generated: number) => void;
}

export interface TokenLogprob {
  id: number;
  piece: string;
  /** log-probability under the model's next-token distribution (before the sampling temperature) */
  logprob: number;
}

/** Why a continuation ended: it reached maxTokens, the model ended the text (BOS or EOS), or the context is full. */
export type StopReason = 'max-tokens' | 'end' | 'context';

export interface Continuation {
  /** the generated ids (not the prompt, not the end token) */
  tokens: number[];
  pieces: string[];
  /** each generated token's log-probability */
  logprobs: number[];
  /** at each generated position, the topK likeliest tokens, most likely first */
  top: TokenLogprob[][];
  stop: StopReason;
}

export interface SteeredGeneration {
  /** the prompt ids */
  tokens: number[];
  /** ‖v‖, the norm of the vector added at every position */
  steeringNorm: number;
  default: Continuation;
  steered: Continuation;
}

/** Longer continuations belong in a corpus sample, not on a page. */
export const MAX_GENERATED_TOKENS = 512;
/** More terms than this is more likely a mistake than a plan. */
export const MAX_STEERING_TERMS = 32;

export async function generateSteered(model: LanguageModel, sae: Sae, ids: number[], options: SteerGenerateOptions): Promise<SteeredGeneration> {
  const { steering, normalize = false, maxTokens, temperature, seed, topK, onProgress } = options;
  const vocab = model.config.vocabSize;
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  if (steering.length === 0 || steering.length > MAX_STEERING_TERMS) {
    throw new InputError(`give from 1 to ${MAX_STEERING_TERMS} features to steer with, got ${steering.length}`);
  }
  const bad = steering.find((t) => !Number.isFinite(t.strength));
  if (bad) throw new InputError(`strength ${bad.strength} is not a finite number`);
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= MAX_GENERATED_TOKENS)) {
    throw new InputError(`maxTokens must be an integer from 1 to ${MAX_GENERATED_TOKENS}, got ${maxTokens}`);
  }
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new InputError(`temperature must be a number ≥ 0, got ${temperature}`);
  if (!Number.isInteger(seed)) throw new InputError(`seed must be an integer, got ${seed}`);
  if (!(Number.isInteger(topK) && topK >= 1 && topK <= vocab)) throw new InputError(`topK must be an integer from 1 to ${vocab}, got ${topK}`);

  const vector = steeringVector(sae, steering, normalize);
  const steeringNorm = tidyData(() => tf.norm(vector).dataSync()[0]);
  // row 0 continues as the model would, row 1 steered; a row that has ended leaves the batch
  const rows: Row[] = [0, 1].map((scale) => ({ scale, ids: [...ids], random: seededRandom(seed), out: { tokens: [], pieces: [], logprobs: [], top: [], stop: 'max-tokens' } }));
  let active = rows;
  const decoder = model.decoder({
    hooks: { [outputHook(sae)]: tokenVectorHook((x) => shiftAlong(x, vector, active.map((row) => [row.scale]))) },
  });
  try {
    // the prompt runs through the same cache, one position per step, so it is steered exactly as the generation is
    let logits: Float32Array = new Float32Array();
    for (const id of ids) logits = decoder.step(active.map(() => id));
    for (;;) {
      const continuing = active.filter((row, b) => {
        const stop = advance(model, row, logits.subarray(b * vocab, (b + 1) * vocab), { maxTokens, temperature, topK });
        if (stop) row.out.stop = stop;
        return stop === null;
      });
      onProgress?.(rows[0].out.tokens.length + rows[1].out.tokens.length);
      if (continuing.length === 0) break;
      if (continuing.length < active.length) decoder.select(continuing.map((row) => active.indexOf(row)));
      active = continuing;
      // let the event loop run (job heartbeats, progress writes) between forward passes
      await new Promise((resolve) => setImmediate(resolve));
      logits = decoder.step(active.map((row) => row.ids[row.ids.length - 1]));
    }
  } finally {
    decoder.dispose();
    vector.dispose();
  }
  return { tokens: ids, steeringNorm, default: rows[0].out, steered: rows[1].out };
}

interface Row {
  /** how much of the steering vector this row adds */
  scale: number;
  /** prompt and generated ids */
  ids: number[];
  random: Random;
  out: Continuation;
}

/** Draws the row's next token from `logits` and records it; says why the row stops, or null when it goes on. */
function advance(
  model: LanguageModel,
  row: Row,
  logits: Float32Array,
  { maxTokens, temperature, topK }: Pick<SteerGenerateOptions, 'maxTokens' | 'temperature' | 'topK'>,
): StopReason | null {
  const { tokenizer } = model;
  const id = sampleToken(logits, temperature, row.random);
  // like llama2.c's run.c and the corpus sampler: BOS (a story's end) or EOS ends the text
  if (id === tokenizer.bosId || id === tokenizer.eosId) return 'end';
  const total = logSumExp(logits);
  row.ids.push(id);
  row.out.tokens.push(id);
  row.out.pieces.push(tokenizer.piece(id));
  row.out.logprobs.push(logits[id] - total);
  row.out.top.push(topIds(logits, topK).map((top) => ({ id: top, piece: tokenizer.piece(top), logprob: logits[top] - total })));
  if (row.out.tokens.length === maxTokens) return 'max-tokens';
  if (row.ids.length >= model.config.contextLength) return 'context';
  return null;
}

/** log Σ exp(logits), in float64. */
function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  let sum = 0;
  for (const l of logits) sum += Math.exp(l - max);
  return max + Math.log(sum);
}

/** The ids of the k largest logits, largest first (ties: lower id first), by insertion into a list of k. */
function topIds(logits: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (best.length === k && logits[i] <= logits[best[k - 1]]) continue;
    let j = Math.min(best.length, k - 1);
    for (; j > 0 && logits[best[j - 1]] < logits[i]; j--) best[j] = best[j - 1];
    best[j] = i;
  }
  return best;
}

/** v = Σ strength · d, d the term's decoder direction (unit-normalised when `normalize`), [d_in]. */
function steeringVector(sae: Sae, steering: SteeringTerm[], normalize: boolean): tf.Tensor1D {
  return tf.tidy(() =>
    steering
      .map(({ direction, strength }) => {
        const d = decoderDirection(sae, direction);
        if (!normalize) return tf.mul(d, strength);
        const length = tf.norm(d).dataSync()[0];
        if (length === 0) throw new InputError(`the decoder direction of ${JSON.stringify(direction)} has norm 0: it cannot be normalised`);
        return tf.mul(d, strength / length);
      })
      .reduce((sum, term) => tf.add(sum, term)) as tf.Tensor1D,
  );
}
