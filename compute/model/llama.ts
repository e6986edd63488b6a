import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Tokenizer } from '../tokenizer/types';
import { ATTENTION_HOOKS, HookedTransformer, HookPoints, KvCache, multiHeadAttention, type BlockHooks, type LayerKvCache } from './common';
import type { FinalNorm, LanguageModel, ModelConfig } from './types';

export interface LlamaConfig extends ModelConfig {
  architecture: 'llama';
  /** RMSNorm epsilon (llama2.c: 1e-5; Hugging Face: `rms_norm_eps`) */
  rmsNormEps: number;
  /** RoPE base (llama2.c: 10000; Hugging Face: `rope_theta`) */
  ropeTheta: number;
}

/**
 * Weights of one Llama block. Matrices are [out, in] (PyTorch / llama2.c / Hugging Face `nn.Linear`
 * layout, applied as W·x). headDim = dModel / nHeads.
 * Query and key rows must be in llama2.c order: RoPE rotates interleaved pairs (2i, 2i+1) of each head.
 * Hugging Face checkpoints rotate halves instead, so a loader for them permutes the rows of q_proj and
 * k_proj (within each head: rows [0, d/2, 1, d/2+1, ...]) before calling `new LlamaModel`.
 */
export interface LlamaBlockWeights {
  /** [dModel]: RMSNorm before attention (llama2.c rms_att, HF input_layernorm) */
  attnNorm: tf.Tensor1D;
  /** [nHeads·headDim, dModel] */
  wq: tf.Tensor2D;
  /** [nKvHeads·headDim, dModel] */
  wk: tf.Tensor2D;
  /** [nKvHeads·headDim, dModel] */
  wv: tf.Tensor2D;
  /** [dModel, nHeads·headDim] */
  wo: tf.Tensor2D;
  /** [dModel]: RMSNorm before the MLP (llama2.c rms_ffn, HF post_attention_layernorm) */
  mlpNorm: tf.Tensor1D;
  /** [dMlp, dModel]: gate (HF gate_proj) */
  w1: tf.Tensor2D;
  /** [dModel, dMlp]: down (HF down_proj) */
  w2: tf.Tensor2D;
  /** [dMlp, dModel]: up (HF up_proj) */
  w3: tf.Tensor2D;
}

export interface LlamaWeights {
  /** [vocab, dModel] */
  tokenEmbedding: tf.Tensor2D;
  blocks: LlamaBlockWeights[];
  /** [dModel] */
  finalNorm: tf.Tensor1D;
  /** [vocab, dModel]; the very same tensor as tokenEmbedding when the embedding is tied */
  classifier: tf.Tensor2D;
}

export function disposeLlamaWeights(weights: LlamaWeights): void {
  // disposing a tensor twice (a tied classifier) is a no-op in tfjs
  tf.dispose([weights.tokenEmbedding, weights.finalNorm, weights.classifier]);
  for (const block of weights.blocks) tf.dispose(Object.values(block));
}

/**
 * Hook points of one block, in forward order (TransformerLens names without the `blocks.L.` prefix). ln1/ln2
 * hook_normalized are before the RMSNorm weight, as TransformerLens (which folds the weight into the next layer by
 * default, so SAEs trained there read exactly this); hook_q and hook_k are before RoPE, in llama2.c's
 * interleaved-pair order within each head (a Hugging Face checkpoint's rows are permuted into it, see LlamaBlockWeights).
 */
const BLOCK_HOOKS = [
  'hook_resid_pre',
  'ln1.hook_normalized',
  ...ATTENTION_HOOKS,
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_normalized',
  'mlp.hook_pre',
  'mlp.hook_pre_linear',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
] as const;

/** The model's own copy of the weights, matrices as [in, out]: x·W is several times faster than x·Wᵀ in tfjs-wasm. */
interface Params {
  /** [vocab, dModel] (gathered, not multiplied) */
  embedding: tf.Tensor2D;
  /** as given, but every matrix transposed to [in, out] */
  blocks: LlamaBlockWeights[];
  finalNorm: tf.Tensor1D;
  /** W_U, [dModel, vocab] */
  unembed: tf.Tensor2D;
}

/**
 * A Llama-architecture language model (RMSNorm, interleaved-pair RoPE, grouped-query attention,
 * SwiGLU MLP) with TransformerLens hook points.
 */
export class LlamaModel extends HookedTransformer implements LanguageModel {
  readonly hookNames: readonly string[];
  private readonly headDim: number;
  private readonly params: Params;

  /**
   * Takes ownership of `weights`: its matrices are transposed into the model's layout and the
   * originals disposed, so the caller must not use them afterwards. `dispose()` frees the rest.
   */
  constructor(
    readonly config: LlamaConfig,
    weights: LlamaWeights,
    readonly tokenizer: Tokenizer,
  ) {
    super();
    this.headDim = config.dModel / config.nHeads;
    checkWeights(config, weights);
    // kept, in case the model is built inside someone's tf.tidy
    const transposed = (w: tf.Tensor2D) => tf.keep(tf.transpose(w));
    this.params = {
      embedding: weights.tokenEmbedding,
      blocks: weights.blocks.map((b) => ({
        ...b,
        wq: transposed(b.wq), wk: transposed(b.wk), wv: transposed(b.wv), wo: transposed(b.wo),
        w1: transposed(b.w1), w2: transposed(b.w2), w3: transposed(b.w3),
      })),
      finalNorm: weights.finalNorm,
      unembed: transposed(weights.classifier),
    };
    tf.dispose(weights.blocks.flatMap((b) => [b.wq, b.wk, b.wv, b.wo, b.w1, b.w2, b.w3]));
    if (weights.classifier !== weights.tokenEmbedding) weights.classifier.dispose();

    this.hookNames = [
      'hook_embed',
      ...weights.blocks.flatMap((_, l) => BLOCK_HOOKS.map((point) => `blocks.${l}.${point}`)),
      'ln_final.hook_normalized',
    ];
  }

  /** W_U as [dModel, vocab]; owned by the model (do not dispose). */
  get unembed(): tf.Tensor2D {
    return this.params.unembed;
  }

  /** the final RMSNorm; owned by the model (do not dispose). */
  get finalNorm(): FinalNorm {
    return { kind: 'rms', weight: this.params.finalNorm };
  }

  /** w2 of block `layer` as [dMlp, dModel]; owned by the model (do not dispose). */
  mlpOut(layer: number): tf.Tensor2D {
    return this.layer(layer).w2;
  }

  /** wo of block `layer` as [nHeads·headDim, dModel], heads concatenated as hook_z's; owned by the model (do not dispose). */
  attnOut(layer: number): tf.Tensor2D {
    return this.layer(layer).wo;
  }

  private layer(layer: number): LlamaBlockWeights {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.config.nLayers) {
      throw new InputError(`layer ${layer} is out of range: the model has layers 0..${this.config.nLayers - 1}`);
    }
    return this.params.blocks[layer];
  }



  /** The forward pass over `ids`, or with `cache` over the positions after the cached ones. */
  protected run(ids: number[][], points: HookPoints, cache?: KvCache): tf.Tensor3D {
    const rope = this.ropeTables(ids[0].length, cache?.length);
    const tokens = tf.tensor2d(ids, undefined, 'int32');
    let x = points.at('hook_embed', tf.gather<tf.Tensor>(this.params.embedding, tokens) as tf.Tensor3D);
    this.params.blocks.forEach((w, l) => {
      x = this.block(x, w, rope, points.block(l), cache?.layer(l));
    });
    const normalized = points.at('ln_final.hook_normalized', rmsNorm(x, this.params.finalNorm, this.config.rmsNormEps));
    return linear(normalized, this.params.unembed);
  }

  private block(resid: tf.Tensor3D, w: LlamaBlockWeights, rope: RopeTables, hooks: BlockHooks, cache?: LayerKvCache): tf.Tensor3D {
    const eps = this.config.rmsNormEps;
    const hook = (name: (typeof BLOCK_HOOKS)[number], act: tf.Tensor3D) => hooks.at(name, act);
    const residPre = hook('hook_resid_pre', resid);
    // ln1/ln2.hook_normalized are before the RMSNorm weight, as TransformerLens (see BLOCK_HOOKS)
    const attnIn = tf.mul<tf.Tensor3D>(hook('ln1.hook_normalized', rmsNormalize(residPre, eps)), w.attnNorm);
    const attnOut = hook('hook_attn_out', this.attention(attnIn, w, rope, hooks, cache));
    const residMid = hook('hook_resid_mid', tf.add(residPre, attnOut));
    const h = tf.mul<tf.Tensor3D>(hook('ln2.hook_normalized', rmsNormalize(residMid, eps)), w.mlpNorm);
    const gate = hook('mlp.hook_pre', linear(h, w.w1));
    const post = hook('mlp.hook_post', tf.mul<tf.Tensor3D>(silu(gate), hook('mlp.hook_pre_linear', linear(h, w.w3))));
    const mlpOut = hook('hook_mlp_out', linear(post, w.w2));
    return hook('hook_resid_post', tf.add(residMid, mlpOut));
  }

  private attention(h: tf.Tensor3D, w: LlamaBlockWeights, rope: RopeTables, hooks: BlockHooks, cache?: LayerKvCache): tf.Tensor3D {
    const [batch, seqLen] = h.shape;
    const { nHeads, nKvHeads } = this.config;
    // [batch, pos, head, hd] → [batch, head, pos, hd]
    const heads = (t: tf.Tensor3D, n: number) => tf.transpose(tf.reshape(t, [batch, seqLen, n, this.headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
    const q = heads(linear(h, w.wq), nHeads);
    const k = heads(linear(h, w.wk), nKvHeads);
    const v = heads(linear(h, w.wv), nKvHeads);
    return linear(multiHeadAttention(q, k, v, hooks, { rotate: (t) => applyRope(t, rope), cache }), w.wo);
  }

  /**
   * RoPE as x·cos + swapPairs(x)·sin, per element j of a head: cos[j] = cos(θ_i) and sin[j] = ∓sin(θ_i)
   * for j = 2i / 2i+1, θ_i = pos·theta^(-2i/headDim). Shaped [1, 1, pos, headDim] to broadcast over heads.
   */
  private ropeTables(seqLen: number, start = 0): RopeTables {
    const hd = this.headDim;
    const cos = new Float32Array(seqLen * hd);
    const sin = new Float32Array(seqLen * hd);
    for (let pos = 0; pos < seqLen; pos++) {
      for (let i = 0; i < hd / 2; i++) {
        const angle = (start + pos) * Math.pow(this.config.ropeTheta, (-2 * i) / hd);
        const j = pos * hd + 2 * i;
        cos[j] = cos[j + 1] = Math.cos(angle);
        sin[j] = -Math.sin(angle);
        sin[j + 1] = Math.sin(angle);
      }
    }
    // element j of a head swapped with its pair partner: [1, 0, 3, 2, ...]
    const swapPairs = tf.tensor1d(Array.from({ length: hd }, (_, j) => j ^ 1), 'int32');
    return { cos: tf.tensor4d(cos, [1, 1, seqLen, hd]), sin: tf.tensor4d(sin, [1, 1, seqLen, hd]), swapPairs };
  }

  dispose(): void {
    const { embedding, blocks, finalNorm, unembed } = this.params;
    tf.dispose([embedding, finalNorm, unembed, ...blocks.flatMap((b) => Object.values(b))]);
  }
}

interface RopeTables {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  swapPairs: tf.Tensor1D;
}

/** x·W for x [batch, pos, in] and W [in, out]. */
function linear(x: tf.Tensor3D, w: tf.Tensor2D): tf.Tensor3D {
  const [batch, seqLen, dIn] = x.shape;
  const y = tf.matMul(tf.reshape(x, [batch * seqLen, dIn]), w);
  return tf.reshape(y, [batch, seqLen, w.shape[1]]);
}

function rmsNorm(x: tf.Tensor3D, weight: tf.Tensor1D, eps: number): tf.Tensor3D {
  return tf.mul(rmsNormalize(x, eps), weight);
}

/** x / √(mean(x²) + eps): RMSNorm before its weight. */
function rmsNormalize(x: tf.Tensor3D, eps: number): tf.Tensor3D {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps)));
}

function silu(x: tf.Tensor3D): tf.Tensor3D {
  return tf.mul(x, tf.sigmoid(x));
}

/** Rotates each interleaved pair (2i, 2i+1) of every head of x [batch, head, pos, hd]. */
function applyRope(x: tf.Tensor4D, { cos, sin, swapPairs }: RopeTables): tf.Tensor4D {
  return tf.add(tf.mul(x, cos), tf.mul(tf.gather(x, swapPairs, 3), sin));
}

/** Shape checks, so a loader's mistake is reported by tensor name instead of failing mid-forward. */
function checkWeights(config: LlamaConfig, weights: LlamaWeights): void {
  const { dModel, nHeads, nKvHeads, dMlp, vocabSize, nLayers } = config;
  if (!(dModel % nHeads === 0 && nHeads % nKvHeads === 0 && (dModel / nHeads) % 2 === 0)) {
    throw new InputError(`inconsistent Llama config: dModel ${dModel} must split into ${nHeads} heads of even size, and ${nHeads} heads into ${nKvHeads} kv-head groups`);
  }
  if (weights.blocks.length !== nLayers) {
    throw new InputError(`the weights have ${weights.blocks.length} blocks, the config says nLayers = ${nLayers}`);
  }
  const kvDim = nKvHeads * (dModel / nHeads);
  const expect = (name: string, t: tf.Tensor, shape: number[]) => {
    if (!tf.util.arraysEqual(t.shape, shape)) {
      throw new InputError(`weight ${name} has shape [${t.shape}], expected [${shape}]`);
    }
  };
  expect('tokenEmbedding', weights.tokenEmbedding, [vocabSize, dModel]);
  expect('classifier', weights.classifier, [vocabSize, dModel]);
  expect('finalNorm', weights.finalNorm, [dModel]);
  weights.blocks.forEach((w, l) => {
    const shapes: Record<keyof LlamaBlockWeights, number[]> = {
      attnNorm: [dModel], wq: [dModel, dModel], wk: [kvDim, dModel], wv: [kvDim, dModel], wo: [dModel, dModel],
      mlpNorm: [dModel], w1: [dMlp, dModel], w2: [dModel, dMlp], w3: [dMlp, dModel],
    };
    for (const [name, shape] of Object.entries(shapes)) {
      expect(`blocks.${l}.${name}`, w[name as keyof LlamaBlockWeights], shape);
    }
  });
}
