import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Tokenizer } from '../tokenizer/types';
import { ATTENTION_HOOKS, HookedTransformer, HookPoints, KvCache, multiHeadAttention, type BlockHooks, type LayerKvCache } from './common';
import type { FinalNorm, LanguageModel, ModelConfig } from './types';

/** GPT-2 hyperparameters (Hugging Face `config.json` names in the comments). */
export interface Gpt2Config extends ModelConfig {
  architecture: 'gpt2';
  /** layer_norm_epsilon */
  layerNormEps: number;
}

export interface LayerNormWeights {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

/** A Conv1D layer as stored by Hugging Face: y = x·weight + bias, weight is [in, out]. */
export interface Conv1DWeights {
  weight: tf.Tensor2D;
  bias: tf.Tensor1D;
}

export interface Gpt2BlockWeights {
  ln1: LayerNormWeights;
  /** c_attn: [d, 3d], q, k, v are consecutive d-wide column blocks */
  attnQkv: Conv1DWeights;
  /** attn.c_proj: [d, d] */
  attnOut: Conv1DWeights;
  ln2: LayerNormWeights;
  /** mlp.c_fc: [d, dMlp] */
  mlpIn: Conv1DWeights;
  /** mlp.c_proj: [dMlp, d] */
  mlpOut: Conv1DWeights;
}

export interface Gpt2Weights {
  /** wte: [vocab, d] */
  tokenEmbedding: tf.Tensor2D;
  /** wpe: [contextLength, d] */
  positionEmbedding: tf.Tensor2D;
  blocks: Gpt2BlockWeights[];
  lnFinal: LayerNormWeights;
  /** lm_head.weight [vocab, d]; absent when the unembedding is tied to the token embedding */
  lmHead?: tf.Tensor2D;
}

/** Hook points of one block, in forward order (TransformerLens names without the `blocks.L.` prefix). */
const BLOCK_HOOKS = [
  'hook_resid_pre',
  'ln1.hook_normalized',
  ...ATTENTION_HOOKS,
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_normalized',
  'mlp.hook_pre',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
] as const;

/**
 * GPT-2 forward pass (pre-LN transformer, learned positions, gelu_new MLP), computed in float32.
 * The model owns `weights` and frees them in `dispose()`.
 */
export class Gpt2Model extends HookedTransformer implements LanguageModel {
  readonly hookNames: readonly string[];
  /**
   * W_U as [d, vocab]; owned by the model (do not dispose). Stored transposed because tfjs-wasm
   * multiplies by a transposed operand about 10× slower, and the unembedding dominates a forward pass.
   */
  readonly unembed: tf.Tensor2D;

  constructor(
    readonly config: Gpt2Config,
    private readonly weights: Gpt2Weights,
    readonly tokenizer: Tokenizer,
  ) {
    super();
    const blockHooks = weights.blocks.flatMap((_, l) => BLOCK_HOOKS.map((h) => `blocks.${l}.${h}`));
    this.hookNames = ['hook_embed', 'hook_pos_embed', ...blockHooks, 'ln_final.hook_normalized'];
    this.unembed = tf.transpose(weights.lmHead ?? weights.tokenEmbedding);
  }

  /** ln_f; owned by the model (do not dispose). */
  get finalNorm(): FinalNorm {
    return { kind: 'layer', weight: this.weights.lnFinal.weight };
  }

  /** mlp.c_proj.weight, stored as [dMlp, d] already; owned by the model (do not dispose). */
  mlpOut(layer: number): tf.Tensor2D {
    return this.layer(layer).mlpOut.weight;
  }

  /** attn.c_proj.weight, [nHeads·dHead, d] with heads concatenated as hook_z's; owned by the model (do not dispose). */
  attnOut(layer: number): tf.Tensor2D {
    return this.layer(layer).attnOut.weight;
  }



  dispose(): void {
    // tf.dispose walks nested objects and arrays of tensors
    tf.dispose([this.weights as unknown as tf.TensorContainer, this.unembed]);
  }

  private layer(layer: number): Gpt2BlockWeights {
    const block = this.weights.blocks[layer];
    if (!block) throw new InputError(`layer ${layer} is out of range: the model has layers 0..${this.config.nLayers - 1}`);
    return block;
  }

  /** The forward pass over `ids`, or with `cache` over the positions after the cached ones. */
  protected run(ids: number[][], hooks: HookPoints, cache?: KvCache): tf.Tensor3D {
    const [batch, seq] = [ids.length, ids[0].length];
    const { dModel, vocabSize, layerNormEps } = this.config;
    const tokens = tf.reshape<tf.Rank.R3>(tf.gather(this.weights.tokenEmbedding, ids.flat()), [batch, seq, dModel]);
    // TransformerLens shapes hook_pos_embed like the residual stream, [batch, pos, d]
    // (concat rather than tile: tfjs-wasm's tile computes every element's index, concat copies rows)
    const position = tf.expandDims<tf.Tensor3D>(tf.slice(this.weights.positionEmbedding, cache?.length ?? 0, seq));
    const positions = batch === 1 ? position : tf.concat(Array.from({ length: batch }, () => position), 0);
    let x = tf.add<tf.Tensor3D>(hooks.at('hook_embed', tokens), hooks.at('hook_pos_embed', positions));
    this.weights.blocks.forEach((block, l) => {
      // One tidy per block: a block's intermediates are freed before the next runs, so a batch's peak memory is one
      // block's working set rather than the whole forward pass's (32 × 128 tokens would not fit tfjs-wasm's 4 GB heap).
      const input = x;
      x = tf.tidy(() => this.block(input, block, hooks.block(l), cache?.layer(l)));
    });
    const normalized = hooks.at('ln_final.hook_normalized', layerNorm(x, this.weights.lnFinal, layerNormEps));
    const logits = tf.matMul(tf.reshape(normalized, [batch * seq, dModel]), this.unembed);
    return tf.reshape(logits, [batch, seq, vocabSize]);
  }

  private block(resid: tf.Tensor3D, w: Gpt2BlockWeights, hooks: BlockHooks, cache?: LayerKvCache): tf.Tensor3D {
    const eps = this.config.layerNormEps;
    const hook = (name: (typeof BLOCK_HOOKS)[number], act: tf.Tensor3D) => hooks.at(name, act);
    const residPre = hook('hook_resid_pre', resid);
    // ln1/ln2.hook_normalized are before the LayerNorm's weight and bias, as TransformerLens (which folds them into
    // the next layer by default, so SAEs and transcoders trained there read exactly this)
    const attnIn = scaleAndShift(hook('ln1.hook_normalized', normalize(residPre, eps)), w.ln1);
    const attnOut = hook('hook_attn_out', this.attention(attnIn, w, hooks, cache));
    const residMid = hook('hook_resid_mid', tf.add(residPre, attnOut));
    const mlpIn = scaleAndShift(hook('ln2.hook_normalized', normalize(residMid, eps)), w.ln2);
    const pre = hook('mlp.hook_pre', conv1d(mlpIn, w.mlpIn));
    const post = hook('mlp.hook_post', geluNew(pre));
    const mlpOut = hook('hook_mlp_out', conv1d(post, w.mlpOut));
    return hook('hook_resid_post', tf.add(residMid, mlpOut));
  }

  private attention(x: tf.Tensor3D, w: Gpt2BlockWeights, hooks: BlockHooks, cache?: LayerKvCache): tf.Tensor3D {
    const [batch, seq, d] = x.shape;
    const { nHeads } = this.config;
    const headDim = d / nHeads;
    // [batch, pos, 3·head, headDim] → [batch, 3·head, pos, headDim] → q, k, v as [batch, head, pos, headDim].
    // (Rank-4 transposes only: tfjs-wasm has fast kernels up to rank 4 and a per-element loop beyond, ≈ 100× slower.)
    const heads = tf.transpose(tf.reshape(conv1d(x, w.attnQkv), [batch, seq, 3 * nHeads, headDim]), [0, 2, 1, 3]);
    const [q, k, v] = tf
      .split(tf.reshape(heads, [batch, 3, nHeads * seq * headDim]), 3, 1)
      .map((t) => tf.reshape(t, [batch, nHeads, seq, headDim]) as tf.Tensor4D);
    return conv1d(multiHeadAttention(q, k, v, hooks, { cache }), w.attnOut);
  }
}

/** LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm. */
function layerNorm(x: tf.Tensor3D, w: LayerNormWeights, eps: number): tf.Tensor3D {
  return scaleAndShift(normalize(x, eps), w);
}

/** (x − mean) / √(variance + eps): LayerNorm before its weight and bias. */
function normalize(x: tf.Tensor3D, eps: number): tf.Tensor3D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
}

function scaleAndShift(x: tf.Tensor3D, w: LayerNormWeights): tf.Tensor3D {
  return tf.add(tf.mul(x, w.weight), w.bias);
}

/** Hugging Face Conv1D: x·W + b on the last axis. */
function conv1d(x: tf.Tensor3D, w: Conv1DWeights): tf.Tensor3D {
  const [batch, seq, dIn] = x.shape;
  const y = tf.fused.matMul({ a: tf.reshape(x, [batch * seq, dIn]), b: w.weight, bias: w.bias });
  return tf.reshape(y, [batch, seq, w.weight.shape[1]]);
}

/**
 * GPT-2's tanh approximation of GELU ("gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as the
 * identical x·sigmoid(2√(2/π)·(x + 0.044715·x³)) since 0.5·(1 + tanh(u)) = sigmoid(2u): tfjs-wasm's sigmoid and
 * multiply are SIMD kernels, its tanh and pow are not (≈ 20× slower here).
 */
function geluNew(x: tf.Tensor3D): tf.Tensor3D {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), 2 * Math.sqrt(2 / Math.PI));
  return tf.mul(x, tf.sigmoid(inner));
}
