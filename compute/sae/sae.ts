import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { SaeArchitecture, SaeConfig } from './config';

/**
 * SAELens SAEs at inference, one class per architecture (as in SAELens):
 *   x'    = norm(x) − b_dec   (the subtraction only when apply_b_dec_to_input)
 *   acts  = architecture-specific function of x'
 *   x̂     = unnorm(acts · W_dec + b_dec)
 * with W_enc [d_in, d_sae] and W_dec [d_sae, d_in]. Inputs are one row per token.
 * A transcoder decodes to another hook: W_dec [d_sae, d_out], b_dec [d_out], never subtracted from the input;
 * a skip transcoder adds x·W_skipᵀ to x̂.
 * The weights are those that act on the model's activations: scale factors that SAELens applies around them are
 * folded in by loadSae, so feature f always contributes exactly acts[:, f] · W_dec[f] (before unnorm).
 */

export interface SaeWeights {
  W_enc: tf.Tensor2D;
  W_dec: tf.Tensor2D;
  b_dec: tf.Tensor1D;
  /** standard, topk, jumprelu, transcoders */
  b_enc?: tf.Tensor1D;
  /** jumprelu, jumprelu transcoders */
  threshold?: tf.Tensor1D;
  /** skip transcoders: [d_out, d_in], the output adds x·W_skipᵀ */
  W_skip?: tf.Tensor2D;
  /** gated */
  b_gate?: tf.Tensor1D;
  b_mag?: tf.Tensor1D;
  r_mag?: tf.Tensor1D;
}

/** Which tensors each architecture needs (besides W_enc, W_dec, b_dec). */
export const ARCHITECTURE_TENSORS: Record<SaeArchitecture, readonly (keyof SaeWeights)[]> = {
  standard: ['b_enc'],
  topk: ['b_enc'],
  jumprelu: ['b_enc', 'threshold'],
  gated: ['b_gate', 'b_mag', 'r_mag'],
  transcoder: ['b_enc'],
  skip_transcoder: ['b_enc', 'W_skip'],
  jumprelu_transcoder: ['b_enc', 'threshold'],
  jumprelu_skip_transcoder: ['b_enc', 'threshold', 'W_skip'],
};

/**
 * What an SAE's arithmetic reads from its config; the rest of SaeConfig records where it reads and what it was
 * trained on. trainSae computes with an SAE built on just these.
 */
export type SaeArithmeticConfig = Pick<SaeConfig, 'architecture' | 'dIn' | 'dSae' | 'k' | 'applyBDecToInput' | 'normalizeActivations' | 'rescaleActsByDecoderNorm'>;

export interface Sae<Cfg extends SaeArithmeticConfig = SaeConfig> {
  readonly cfg: Cfg;
  readonly dIn: number;
  readonly dSae: number;
  /** owned by the SAE; disposed by dispose() */
  readonly weights: SaeWeights;
  /** log10 feature densities from sparsity.safetensors, when the SAE directory has one */
  readonly logSparsity?: Float32Array;
  /** x [n, d_in] → feature activations [n, d_sae] */
  encode(x: tf.Tensor2D): tf.Tensor2D;
  /**
   * x [n, d_in] → what the encoder multiplies by W_enc: x' = norm(x) − b_dec (the subtraction only when
   * apply_b_dec_to_input). A new tensor, owned by the caller. Linear probes along encoder columns start from it.
   */
  encoderInput(x: tf.Tensor2D): tf.Tensor2D;
  /**
   * acts [n, d_sae] → reconstruction [n, d_out] (d_out = d_in but for transcoders). With a per-token normalisation
   * (constant_norm_rescale, layer_norm) or a skip connection the input the acts came from is needed, as `x`.
   */
  decode(acts: tf.Tensor2D, x?: tf.Tensor2D): tf.Tensor2D;
  forward(x: tf.Tensor2D): { acts: tf.Tensor2D; reconstruction: tf.Tensor2D };
  dispose(): void;
}

/** SAELens's layer_norm normalisation adds this to the standard deviation. */
const LAYER_NORM_EPS = 1e-5;

/**
 * An SAE whose feature activations are a function of the pre-activations x'·W_enc + b_enc alone (standard, topk):
 * encode(x) = activate(preActivations(encoderInput(x))). trainSae differentiates through these steps.
 */
export interface TrainableSae<Cfg extends SaeArithmeticConfig = SaeConfig> extends Sae<Cfg> {
  /** SAE input x' [n, d_in] → x'·W_enc + b_enc [n, d_sae] */
  preActivations(saeIn: tf.Tensor2D): tf.Tensor2D;
  /** pre-activations [n, d_sae] → feature activations */
  activate(pre: tf.Tensor2D): tf.Tensor2D;
}

abstract class BaseSae<Cfg extends SaeArithmeticConfig = SaeConfig> implements Sae<Cfg> {
  readonly dIn: number;
  readonly dSae: number;

  constructor(
    readonly cfg: Cfg,
    readonly weights: SaeWeights,
    readonly logSparsity?: Float32Array,
  ) {
    this.dIn = cfg.dIn;
    this.dSae = cfg.dSae;
    for (const name of ['W_enc', 'W_dec', 'b_dec', ...ARCHITECTURE_TENSORS[cfg.architecture]] as const) {
      if (!weights[name]) throw new Error(`${cfg.architecture} SAE constructed without ${name}`);
    }
    if (cfg.architecture === 'topk' && !(cfg.k && cfg.k <= cfg.dSae)) throw new Error(`topk SAE needs 1 <= k <= d_sae, got k = ${cfg.k}`);
    // Scale options act through the weights only once folded in (loadSae does); unfolded they would be ignored.
    if (cfg.normalizeActivations === 'expected_average_only_in' || cfg.rescaleActsByDecoderNorm) {
      throw new Error('fold expected_average_only_in / rescale_acts_by_decoder_norm into the weights before constructing an SAE');
    }
  }

  /** Feature activations from the SAE input x' (normalised, b_dec subtracted when configured). */
  protected abstract activations(saeIn: tf.Tensor2D): tf.Tensor2D;

  encode(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.activations(this.encoderInput(x)));
  }

  encoderInput(x: tf.Tensor2D): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.dIn) {
      throw new InputError(`SAE input must be [n, d_in = ${this.dIn}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      const normed = this.normalize(x);
      if (this.cfg.applyBDecToInput) return tf.sub(normed, this.weights.b_dec);
      // a clone, so that the caller may dispose the result without disposing x
      return normed === x ? tf.clone(x) : normed;
    });
  }

  decode(acts: tf.Tensor2D, x?: tf.Tensor2D): tf.Tensor2D {
    if (acts.rank !== 2 || acts.shape[1] !== this.dSae) {
      throw new InputError(`SAE activations must be [n, d_sae = ${this.dSae}], got [${acts.shape}]`);
    }
    if (x && x.shape[0] !== acts.shape[0]) throw new InputError(`decode: x has ${x.shape[0]} rows but acts has ${acts.shape[0]}`);
    const { W_skip } = this.weights;
    if (W_skip && !x) throw new Error('decoding a skip transcoder needs its input x for the skip connection');
    return tf.tidy(() => {
      const out = this.denormalize(this.decodeLinear(acts), x);
      return W_skip ? tf.add(out, tf.matMul(x!, W_skip, false, true)) : out;
    });
  }

  forward(x: tf.Tensor2D): { acts: tf.Tensor2D; reconstruction: tf.Tensor2D } {
    return tf.tidy(() => {
      const acts = this.encode(x);
      return { acts, reconstruction: this.decode(acts, x) };
    });
  }

  dispose(): void {
    tf.dispose(Object.values(this.weights));
  }

  /** x'·W_enc + b_enc, with `activation` applied in the same kernel (one pass over the [n, d_sae] result). */
  preActivations(saeIn: tf.Tensor2D, activation?: 'relu'): tf.Tensor2D {
    return tf.fused.matMul({ a: saeIn, b: this.weights.W_enc, bias: this.weights.b_enc!, activation }) as tf.Tensor2D;
  }

  protected decodeLinear(acts: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(acts, this.weights.W_dec), this.weights.b_dec);
  }

  private normalize(x: tf.Tensor2D): tf.Tensor2D {
    switch (this.cfg.normalizeActivations) {
      case 'constant_norm_rescale':
        return tf.mul(x, this.normCoefficient(x));
      case 'layer_norm': {
        const { mean, std } = this.layerNormStats(x);
        return tf.div(tf.sub(x, mean), tf.add(std, LAYER_NORM_EPS));
      }
      default:
        return x;
    }
  }

  /** Undoes the input normalisation on the reconstruction, as SAELens does (note: without the eps). */
  private denormalize(out: tf.Tensor2D, x: tf.Tensor2D | undefined): tf.Tensor2D {
    const mode = this.cfg.normalizeActivations;
    if (mode !== 'constant_norm_rescale' && mode !== 'layer_norm') return out;
    if (!x) throw new Error(`decoding a ${mode} SAE needs the input x to undo the normalisation`);
    if (mode === 'constant_norm_rescale') return tf.div(out, this.normCoefficient(x));
    const { mean, std } = this.layerNormStats(x);
    return tf.add(tf.mul(out, std), mean);
  }

  /** constant_norm_rescale: the factor that scales each token to norm sqrt(d_in) */
  private normCoefficient(x: tf.Tensor2D): tf.Tensor2D {
    return tf.div(Math.sqrt(this.dIn), tf.norm(x, 'euclidean', -1, true));
  }

  /** layer_norm statistics per token; std is the unbiased (n − 1) one, as torch.std computes */
  private layerNormStats(x: tf.Tensor2D): { mean: tf.Tensor2D; std: tf.Tensor2D } {
    const mean = tf.mean<tf.Tensor2D>(x, -1, true);
    const std = tf.sqrt(tf.div<tf.Tensor2D>(tf.sum(tf.square(tf.sub(x, mean)), -1, true), this.dIn - 1));
    return { mean, std };
  }
}

/** acts = relu(pre) */
export class StandardSae<Cfg extends SaeArithmeticConfig = SaeConfig> extends BaseSae<Cfg> implements TrainableSae<Cfg> {
  protected activations(saeIn: tf.Tensor2D): tf.Tensor2D {
    return this.preActivations(saeIn, 'relu');
  }

  activate(pre: tf.Tensor2D): tf.Tensor2D {
    return tf.relu(pre);
  }
}

/** acts = relu(pre) where pre > threshold, else 0 (SAELens JumpReLUSAE) */
export class JumpReluSae extends BaseSae {
  protected activations(saeIn: tf.Tensor2D): tf.Tensor2D {
    const pre = this.preActivations(saeIn);
    return tf.mul(tf.relu(pre), tf.cast(tf.greater(pre, this.weights.threshold!), 'float32'));
  }
}

/**
 * Keeps the k largest pre-activations of each token, relu'd; the rest are 0. (SAELens's
 * rescale_acts_by_decoder_norm is folded into the weights by loadSae.)
 */
export class TopKSae<Cfg extends SaeArithmeticConfig = SaeConfig> extends BaseSae<Cfg> implements TrainableSae<Cfg> {
  protected activations(saeIn: tf.Tensor2D): tf.Tensor2D {
    return this.activate(this.preActivations(saeIn));
  }

  activate(pre: tf.Tensor2D): tf.Tensor2D {
    const top = topK(pre, this.cfg.k!);
    return top.scatter(tf.relu(top.values));
  }
}

/**
 * The k largest entries of each row, and `scatter`, which puts one value per entry back at its [row, feature]
 * position with 0 elsewhere.
 */
export function topK(pre: tf.Tensor2D, k: number): { values: tf.Tensor2D; scatter: (perEntry: tf.Tensor) => tf.Tensor2D } {
  const [rows, cols] = pre.shape;
  const { values, indices } = tf.topk(pre, k);
  const rowIndex = tf.tile(tf.expandDims(tf.range(0, rows, 1, 'int32'), 1), [1, k]);
  const coords = tf.stack([tf.reshape(rowIndex, [-1]), tf.reshape(indices, [-1])], 1);
  return { values, scatter: (perEntry) => tf.scatterND(coords, tf.reshape(perEntry, [-1]), [rows, cols]) as tf.Tensor2D };
}

/**
 * SAELens GatedSAE: the gate decides which features are on, a magnitude path (sharing W_enc, rescaled per feature
 * by exp(r_mag)) decides how much:
 *   on  = (x'·W_enc + b_gate > 0)
 *   mag = relu(x'·(W_enc ⊙ exp(r_mag)) + b_mag)
 *   acts = on · mag
 */
export class GatedSae extends BaseSae {
  protected activations(saeIn: tf.Tensor2D): tf.Tensor2D {
    const { W_enc, b_gate, b_mag, r_mag } = this.weights;
    const projected = tf.matMul(saeIn, W_enc);
    const on = tf.cast(tf.greater(tf.add(projected, b_gate!), 0), 'float32');
    // r_mag scales W_enc's columns, so it can scale the shared product instead of a copy of W_enc.
    const magnitude = tf.relu(tf.add(tf.mul(projected, tf.exp(r_mag!)), b_mag!));
    return tf.mul(on, magnitude);
  }
}

const CLASSES: Record<SaeArchitecture, new (cfg: SaeConfig, weights: SaeWeights, logSparsity?: Float32Array) => Sae> = {
  standard: StandardSae,
  topk: TopKSae,
  jumprelu: JumpReluSae,
  gated: GatedSae,
  transcoder: StandardSae,
  skip_transcoder: StandardSae,
  jumprelu_transcoder: JumpReluSae,
  jumprelu_skip_transcoder: JumpReluSae,
};

/**
 * The SAE class for cfg.architecture. Its dispose() disposes `weights`, so an SAE built on another SAE's weights
 * (e.g. the same SAE with another config flag) shares them and must not be disposed itself.
 */
export function createSae(cfg: SaeConfig, weights: SaeWeights, logSparsity?: Float32Array): Sae {
  return new CLASSES[cfg.architecture](cfg, weights, logSparsity);
}
