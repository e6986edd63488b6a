import type * as tf from '@tensorflow/tfjs-core';
import type { Tokenizer } from '../tokenizer/types';

/** What every architecture reports about itself (TransformerLens-style names). */
export interface ModelConfig {
  architecture: 'llama' | 'gpt2';
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dMlp: number;
  vocabSize: number;
  /** longest sequence the model accepts (llama2.c seq_len, GPT-2 n_positions) */
  contextLength: number;
}

/**
 * The activation at a hook point, shaped as TransformerLens shapes it:
 * - [batch, pos, d] for the residual stream, norms, MLP and attention outputs (d is d_model, or d_mlp inside the MLP);
 * - [batch, pos, head, d_head] for `attn.hook_q`, `hook_k`, `hook_v`, `hook_z` (k and v have the kv heads);
 * - [batch, head, query_pos, key_pos] for `attn.hook_attn_scores` (scaled, causally masked with −∞) and `hook_pattern`.
 */
export type Activation = tf.Tensor3D | tf.Tensor4D;

/**
 * A hook sees the activation at one TransformerLens hook point. Returning a tensor of the same shape replaces the
 * activation for the rest of the forward pass (to add, return `act.add(delta)`); returning nothing only reads it.
 * The hook must not dispose `act`.
 */
export type HookFn = (act: Activation, name: string) => Activation | void;

export interface ForwardOptions {
  /** hook names whose activations are returned in `cache` (the caller disposes them) */
  capture?: string[];
  /** functions run at hook points, in forward order */
  hooks?: Record<string, HookFn>;
  /** stop right after this hook: no later block runs and no logits are computed */
  stopAt?: string;
}

export interface ForwardResult {
  /** [batch, pos, vocab]; absent when `stopAt` was given */
  logits?: tf.Tensor3D;
  cache: Map<string, Activation>;
}

/** RMSNorm (Llama) scales; LayerNorm (GPT-2) also centres, which is why folding it centres W_U's columns. */
export interface FinalNorm {
  kind: 'rms' | 'layer';
  weight: tf.Tensor1D;
}

export interface LanguageModel {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** every hook name this model exposes, in forward order */
  readonly hookNames: readonly string[];
  /** unembedding W_U, [dModel, vocab] (direct path, no final norm) */
  readonly unembed: tf.Tensor2D;
  /** the normalisation before the unembedding: its kind and its weight [dModel] (owned by the model) */
  readonly finalNorm: FinalNorm;
  /** MLP output weights of layer L as [dMlp, dModel], to map `blocks.L.mlp.hook_post` directions to the residual stream */
  mlpOut(layer: number): tf.Tensor2D;
  /** attention output weights W_O of layer L as [nHeads·dHead, dModel], to map `blocks.L.attn.hook_z` directions to the residual stream */
  attnOut(layer: number): tf.Tensor2D;
  /** ids: [batch][pos], every row the same length */
  forward(ids: number[][], options?: ForwardOptions): ForwardResult;
  /**
   * Incremental decoding with a key/value cache, for sampling: the blocks of `forward`, one position at a time. Runs
   * `hooks` at every step (each sees the step's position only, [batch, 1, …]); captures nothing.
   */
  decoder(options?: Pick<ForwardOptions, 'hooks'>): Decoder;
  dispose(): void;
}

/** Decodes a batch of sequences one position at a time, keeping every layer's keys and values. */
export interface Decoder {
  /** feeds one token per sequence at the next position; returns the logits there, [batch × vocab] row-major */
  step(tokens: number[]): Float32Array;
  /** keeps only these sequences (row indices of the current batch), in this order */
  select(rows: number[]): void;
  dispose(): void;
}
