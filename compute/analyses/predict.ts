import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';

export interface TokenPrediction {
  id: number;
  piece: string;
  logit: number;
  /** softmax probability over the whole vocabulary */
  prob: number;
}

export interface Prediction {
  /** the input ids */
  tokens: number[];
  pieces: string[];
  /** for every input position, the `top` most likely next tokens, most likely first */
  top: TokenPrediction[][];
  /** greedy continuation (not including the input) */
  generated: number[];
}

export interface PredictOptions {
  /** how many next-token candidates to list per position (default 5) */
  top?: number;
  /** how many tokens to generate greedily after the input (default 0) */
  generate?: number;
}

/** The model's next-token predictions at every position of `ids`, plus an optional greedy continuation. */
export function predict(model: LanguageModel, ids: number[], options: PredictOptions = {}): Prediction {
  const { top = 5, generate = 0 } = options;
  const { vocabSize } = model.config;
  if (!Number.isInteger(top) || top < 1 || top > vocabSize) {
    throw new InputError(`top must be an integer from 1 to ${vocabSize}, got ${top}`);
  }
  if (!Number.isInteger(generate) || generate < 0) {
    throw new InputError(`generate must be a non-negative integer, got ${generate}`);
  }
  const { tokenizer } = model;
  const [logits, indices, probs] = tf.tidy(() => {
    const all = tf.squeeze(model.forward([ids]).logits!, [0]) as tf.Tensor2D; // [pos, vocab]
    const { values, indices } = tf.topk(all, top) as { values: tf.Tensor2D; indices: tf.Tensor2D };
    // probabilities of the top entries only: exp(logit − logsumexp over the vocabulary)
    const probs = tf.exp(tf.sub(values, tf.logSumExp(all, -1, true))) as tf.Tensor2D;
    return [values.arraySync(), indices.arraySync(), probs.arraySync()];
  });
  return {
    tokens: ids,
    pieces: ids.map((id) => tokenizer.piece(id)),
    top: indices.map((row, pos) =>
      row.map((id, k) => ({ id, piece: tokenizer.piece(id), logit: logits[pos][k], prob: probs[pos][k] }))),
    generated: greedyContinuation(model, ids, generate),
  };
}

/**
 * Up to `count` tokens, each the argmax of the next-token logits. Like llama2.c's run.c, it stops
 * before a BOS token (the model's end of story) and when the context is full.
 */
export function greedyContinuation(model: LanguageModel, ids: number[], count: number): number[] {
  const sequence = [...ids];
  const generated: number[] = [];
  while (generated.length < count && sequence.length < model.config.contextLength) {
    const next = tf.tidy(() => {
      const logits = model.forward([sequence]).logits!;
      const last = tf.slice(logits, [0, sequence.length - 1, 0], [1, 1, -1]);
      return tf.argMax(tf.reshape(last, [-1])).dataSync()[0];
    });
    if (next === model.tokenizer.bosId) break;
    sequence.push(next);
    generated.push(next);
  }
  return generated;
}

/**
 * The token ids to run: `text` tokenized with BOS prepended (as llama2.c and SAELens with
 * prepend_bos do), or `tokenIds` as given, checked against the vocabulary and the context length.
 */
export function prepareInput(model: LanguageModel, input: { text?: string; tokenIds?: number[] }): number[] {
  const { text, tokenIds } = input;
  const { contextLength, vocabSize } = model.config;
  if ((text === undefined) === (tokenIds === undefined)) {
    throw new InputError('give either a text or token ids (exactly one of them)');
  }
  if (text !== undefined) {
    if (text.length === 0) throw new InputError('the prompt is empty');
    // no vocabulary has tokens this long; refuse before spending time tokenizing a huge text
    const maxChars = contextLength * 64;
    if (text.length > maxChars) {
      throw new InputError(`the prompt is ${text.length} characters long; at most ${maxChars} are accepted for a context of ${contextLength} tokens`);
    }
  }
  const ids = tokenIds ?? model.tokenizer.encode(text!, { bos: true });
  if (ids.length === 0) throw new InputError('no token ids given');
  if (ids.length > contextLength) {
    throw new InputError(`the prompt is ${ids.length} tokens long, more than the model's context length of ${contextLength}`);
  }
  ids.forEach((id, pos) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InputError(`token id ${id} at position ${pos} is out of range: the vocabulary has ids 0..${vocabSize - 1}`);
    }
  });
  return ids;
}
