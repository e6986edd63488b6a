import * as tf from '@tensorflow/tfjs-core';
import { binEdges, binIndex } from './histogram';
import type { EvalMetrics, Histogram, SaeEvals } from './types';

/** Features that fire, but on fewer than this fraction of tokens, count as ultra-rare (log10 density < −5). */
export const ULTRA_RARE_DENSITY = 1e-5;

export type LossKind = 'clean' | 'spliced' | 'ablated' | 'zeroAblated';

/** An EvalAccumulator's sums, per position (means: [position, d_in]) and per feature (firing). */
export interface EvalSums {
  tokens: number[];
  l0: number[];
  squaredError: number[];
  means: number[];
  m2: number[];
  predictions: number[];
  losses: Record<LossKind, number[]>;
  firing: number[];
}

/**
 * Whole-SAE evals, streamed batch by batch. Everything is kept as float64 sums per token position, so that the
 * by-position metrics and the totals come from the same numbers and the totals are exactly their sums.
 *
 * Variance explained needs Σ‖x − μ‖² around the corpus mean μ, which is not known until the end. Each position
 * keeps its own running mean and centred sum of squares, merged batch by batch with Chan et al.'s pairwise
 * update (each batch is centred on its own mean first, so nothing subtracts two large sums); at the end
 * Σ_{t at p}‖x_t − μ‖² = M2_p + n_p‖μ_p − μ‖². The same update merges the sums of shards over parts of the corpus.
 */
export class EvalAccumulator {
  private readonly tokens: Float64Array;
  private readonly l0: Float64Array;
  private readonly squaredError: Float64Array;
  /** [position, d_in] running means */
  private readonly means: Float64Array;
  /** Σ‖x − μ_p‖² per position */
  private readonly m2: Float64Array;
  private readonly predictions: Float64Array;
  private readonly losses: Record<LossKind, Float64Array>;
  private readonly firing: Float64Array;

  constructor(
    private readonly dIn: number,
    private readonly dSae: number,
    private readonly maxLength: number,
  ) {
    const perPosition = () => new Float64Array(maxLength);
    this.tokens = perPosition();
    this.l0 = perPosition();
    this.squaredError = perPosition();
    this.means = new Float64Array(maxLength * dIn);
    this.m2 = perPosition();
    this.predictions = perPosition();
    this.losses = { clean: perPosition(), spliced: perPosition(), ablated: perPosition(), zeroAblated: perPosition() };
    this.firing = new Float64Array(dSae);
  }

  /** x: the hook activations [batch, T, d_in]; acts [batch·T, d_sae] and reconstruction [batch·T, d_in] from them. */
  addReconstruction(x: tf.Tensor3D, acts: tf.Tensor2D, reconstruction: tf.Tensor2D): void {
    const [batch, seqLen, dIn] = x.shape;
    const stats = tf.tidy(() => {
      const fires = tf.cast(tf.greater(acts, 0), 'float32');
      const batchMeans = tf.mean(x, 0); // [T, d_in]
      const error = tf.sub(tf.reshape(x, [batch * seqLen, dIn]), reconstruction);
      return {
        l0: tf.sum(fires, 1).dataSync() as Float32Array,
        firing: tf.sum(fires, 0).dataSync() as Float32Array,
        squaredError: tf.sum(tf.square(error), 1).dataSync() as Float32Array,
        means: batchMeans.dataSync() as Float32Array,
        m2: tf.sum(tf.square(tf.sub(x, batchMeans)), [0, 2]).dataSync() as Float32Array,
      };
    });
    for (let f = 0; f < this.dSae; f++) this.firing[f] += stats.firing[f];
    for (let t = 0; t < seqLen; t++) {
      for (let b = 0; b < batch; b++) {
        this.l0[t] += stats.l0[b * seqLen + t];
        this.squaredError[t] += stats.squaredError[b * seqLen + t];
      }
      this.mergePosition(t, batch, stats.means, stats.m2[t]);
    }
  }

  /** Chan et al.: merges position t's (n_a, mean_a, M2_a) with (n_b, means_b[t·d_in..], M2_b). */
  private mergePosition(t: number, nB: number, meansB: ArrayLike<number>, m2B: number): void {
    const nA = this.tokens[t];
    const n = nA + nB;
    let shift = 0;
    for (let d = 0; d < this.dIn; d++) {
      const i = t * this.dIn + d;
      const delta = meansB[i] - this.means[i];
      shift += delta * delta;
      this.means[i] += (delta * nB) / n;
    }
    this.m2[t] += m2B + (shift * nA * nB) / n;
    this.tokens[t] = n;
  }

  /** losses: [batch·(T−1)] next-token losses, as nextTokenLosses lays them out. */
  addLosses(kind: LossKind, losses: Float32Array, batch: number): void {
    const predicted = losses.length / batch;
    const sums = this.losses[kind];
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < predicted; t++) sums[t] += losses[b * predicted + t];
    }
    // every kind covers the same predictions; count them once
    if (kind === 'clean') for (let t = 0; t < predicted; t++) this.predictions[t] += batch;
  }

  /** Everything accumulated so far, as plain numbers (JSON keeps float64 exactly): a shard's part of the evals. */
  sums(): EvalSums {
    const list = (values: Float64Array) => Array.from(values);
    return {
      tokens: list(this.tokens),
      l0: list(this.l0),
      squaredError: list(this.squaredError),
      means: list(this.means),
      m2: list(this.m2),
      predictions: list(this.predictions),
      losses: { clean: list(this.losses.clean), spliced: list(this.losses.spliced), ablated: list(this.losses.ablated), zeroAblated: list(this.losses.zeroAblated) },
      firing: list(this.firing),
    };
  }

  /** Adds another part's sums (of other tokens, or of other losses over the same tokens, as a mean-ablation part). */
  merge(part: EvalSums): void {
    if (part.tokens.length !== this.maxLength || part.means.length !== this.maxLength * this.dIn || part.firing.length !== this.dSae) {
      throw new Error(`eval sums of another shape: ${part.tokens.length} positions × ${part.means.length / part.tokens.length} dimensions, ${part.firing.length} features`);
    }
    const add = (into: Float64Array, values: number[]) => values.forEach((v, i) => (into[i] += v));
    add(this.l0, part.l0);
    add(this.squaredError, part.squaredError);
    add(this.predictions, part.predictions);
    for (const kind of Object.keys(this.losses) as LossKind[]) add(this.losses[kind], part.losses[kind]);
    add(this.firing, part.firing);
    for (let t = 0; t < this.maxLength; t++) if (part.tokens[t] > 0) this.mergePosition(t, part.tokens[t], part.means, part.m2[t]);
  }

  /** The parts merged in the order given (the result depends on it only in the last bits). */
  static merged(parts: EvalSums[]): EvalAccumulator {
    const [first] = parts;
    if (!first) throw new Error('no eval sums to merge');
    const accumulator = new EvalAccumulator(first.means.length / first.tokens.length, first.firing.length, first.tokens.length);
    for (const part of parts) accumulator.merge(part);
    return accumulator;
  }

  /** The mean hook activation over all tokens seen so far (the mean-ablation value), [d_in]. */
  meanActivation(): Float32Array {
    return Float32Array.from(this.corpusMean());
  }

  result(densityBins: number): SaeEvals {
    const positions = this.positionSums();
    const total = this.metrics(positions.reduce(addSums));
    const nTokens = total.nTokens;
    let dead = 0;
    let ultraRare = 0;
    for (const count of this.firing) {
      if (count === 0) dead++;
      else if (count / nTokens < ULTRA_RARE_DENSITY) ultraRare++;
    }
    return {
      ...total,
      ablation: 'mean',
      meanOver: 'all corpus tokens, BOS included',
      nFeatures: this.dSae,
      deadFraction: dead / this.dSae,
      ultraRareFraction: ultraRare / this.dSae,
      ultraRareDensity: ULTRA_RARE_DENSITY,
      firingCounts: Array.from(this.firing),
      densityHistogram: densityHistogram(this.firing, nTokens, densityBins),
      byPosition: positions.map((sums, position) => ({ position, ...this.metrics(sums) })),
    };
  }

  private positionSums(): MetricSums[] {
    const mu = this.corpusMean();
    return Array.from({ length: this.maxLength }, (_, t) => {
      let offset = 0;
      for (let d = 0; d < this.dIn; d++) offset += (this.means[t * this.dIn + d] - mu[d]) ** 2;
      return {
        tokens: this.tokens[t],
        l0: this.l0[t],
        squaredError: this.squaredError[t],
        centred: this.m2[t] + this.tokens[t] * offset,
        predictions: this.predictions[t],
        clean: this.losses.clean[t],
        spliced: this.losses.spliced[t],
        ablated: this.losses.ablated[t],
        zeroAblated: this.losses.zeroAblated[t],
      };
    });
  }

  private corpusMean(): Float64Array {
    const mean = new Float64Array(this.dIn);
    let n = 0;
    for (let t = 0; t < this.maxLength; t++) {
      n += this.tokens[t];
      for (let d = 0; d < this.dIn; d++) mean[d] += this.tokens[t] * this.means[t * this.dIn + d];
    }
    return mean.map((v) => v / n);
  }

  private metrics(s: MetricSums): EvalMetrics {
    const ce = (sum: number) => ratio(sum, s.predictions);
    const [ceClean, ceSpliced, ceAblated, ceZeroAblated] = [ce(s.clean), ce(s.spliced), ce(s.ablated), ce(s.zeroAblated)];
    const recovered = (ablated: number | null) => (ceClean === null ? null : ratio(ablated! - ceSpliced!, ablated! - ceClean));
    const varianceUnexplained = ratio(s.squaredError, s.centred);
    return {
      nTokens: s.tokens,
      l0: ratio(s.l0, s.tokens) ?? 0,
      mse: ratio(s.squaredError, s.tokens * this.dIn) ?? 0,
      varianceExplained: varianceUnexplained === null ? null : 1 - varianceUnexplained,
      centredSumOfSquares: s.centred,
      nPredictions: s.predictions,
      ceClean,
      ceSpliced,
      ceAblated,
      ceRecovered: recovered(ceAblated),
      ceZeroAblated,
      ceRecoveredZero: recovered(ceZeroAblated),
    };
  }
}

interface MetricSums {
  tokens: number;
  l0: number;
  squaredError: number;
  centred: number;
  predictions: number;
  clean: number;
  spliced: number;
  ablated: number;
  zeroAblated: number;
}

function addSums(a: MetricSums, b: MetricSums): MetricSums {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof MetricSums)[]) sum[key] += b[key];
  return sum;
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

/** log10 densities of the live features, over [floor(log10(1 / nTokens)), 0] (the rarest measurable to always). */
function densityHistogram(firing: Float64Array, nTokens: number, bins: number): Histogram & { dead: number } {
  const lo = Math.floor(Math.log10(1 / nTokens));
  const counts = new Array<number>(bins).fill(0);
  let dead = 0;
  for (const count of firing) {
    if (count === 0) dead++;
    else counts[binIndex(Math.log10(count / nTokens), lo, 0, bins)]++;
  }
  return { edges: binEdges(lo, 0, bins), counts, dead };
}
