import { deriveSeed, seededRandom, type Random } from '../random';
import { binEdges, binIndex } from './histogram';
import type { ActivationExample, ActivationInterval, Histogram, IntervalExample } from './types';

/*
 * Per-feature bookkeeping of the two passes over the corpus. Features are numbered by column 0..F−1 of the
 * activations handed in (the features being computed, in the order asked for).
 */

/** A context's largest activation of one feature, before its per-token activations are read (pass 2). */
export interface TopCandidate {
  contextIndex: number;
  maxAct: number;
  maxPos: number;
}

/**
 * Pass 1: activation sums and, per feature, the topK contexts by maximum activation. Each list is kept sorted,
 * largest first; a context replaces the smallest only when strictly larger, so ties keep the earlier context.
 * (Insertions are rare after the first few batches, so a sorted array beats a heap on simplicity at no cost.)
 */
export class ActivationTotals {
  readonly sums: Float64Array;
  readonly top: TopCandidate[][];

  constructor(
    nFeatures: number,
    private readonly topK: number,
  ) {
    this.sums = new Float64Array(nFeatures);
    this.top = Array.from({ length: nFeatures }, () => []);
  }

  /**
   * For contexts first..first+batch−1: contextMax and contextArgMax are [batch, F] (each context's largest
   * activation of each feature and its position), batchSums [F] the activation sums over the batch.
   */
  add(first: number, contextMax: Float32Array, contextArgMax: Int32Array, batchSums: Float32Array): void {
    const nFeatures = this.top.length;
    const batch = contextMax.length / nFeatures;
    for (let f = 0; f < nFeatures; f++) this.sums[f] += batchSums[f];
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < nFeatures; f++) {
        const maxAct = contextMax[b * nFeatures + f];
        const list = this.top[f];
        if (!(maxAct > 0) || (list.length === this.topK && maxAct <= list[list.length - 1].maxAct)) continue;
        let at = list.length;
        while (at > 0 && list[at - 1].maxAct < maxAct) at--;
        list.splice(at, 0, { contextIndex: first + b, maxAct, maxPos: contextArgMax[b * nFeatures + f] });
        if (list.length > this.topK) list.pop();
      }
    }
  }
}

export interface SampleOptions {
  /** the SAE feature index of each column, to seed its sampling */
  features: number[];
  histogramBins: number;
  intervals: number;
  examplesPerInterval: number;
  seed: number;
}

/**
 * Pass 2, with each feature's maximum known from pass 1: histograms of the non-zero activations over [0, max],
 * counts per quantile interval and, per interval, a uniform sample of its tokens (reservoir sampling, seeded per
 * feature, so the same corpus and seed give a feature the same examples whichever other features are computed
 * with it). It also reads the per-token activations of the top contexts
 * found in pass 1. Examples copy one context's activations when they are taken, so nothing else is kept.
 */
export class ActivationSamples {
  readonly topExamples: ActivationExample[][];
  private readonly histograms: Float64Array;
  private readonly intervalCounts: Float64Array;
  private readonly reservoirs: IntervalExample[][];
  /** context index → the top-example slots (feature, rank) waiting for its activations */
  private readonly pendingTop = new Map<number, { feature: number; rank: number }[]>();
  private readonly randoms: Random[];

  constructor(
    private readonly maxActs: ArrayLike<number>,
    top: TopCandidate[][],
    private readonly options: SampleOptions,
  ) {
    const nFeatures = maxActs.length;
    this.histograms = new Float64Array(nFeatures * options.histogramBins);
    this.intervalCounts = new Float64Array(nFeatures * options.intervals);
    this.reservoirs = Array.from({ length: nFeatures * options.intervals }, () => []);
    this.topExamples = top.map((list) => new Array<ActivationExample>(list.length));
    top.forEach((list, feature) =>
      list.forEach(({ contextIndex }, rank) => {
        const slots = this.pendingTop.get(contextIndex) ?? [];
        slots.push({ feature, rank });
        this.pendingTop.set(contextIndex, slots);
      }),
    );
    this.randoms = options.features.map((index) => seededRandom(deriveSeed(options.seed, index)));
  }

  /** acts: [batch, T, F] row-major, for the contexts first..first+batch−1 whose token ids are `contexts`. */
  add(first: number, contexts: number[][], acts: Float32Array): void {
    const { histogramBins: bins, intervals, examplesPerInterval } = this.options;
    const nFeatures = this.maxActs.length;
    const seqLen = contexts[0].length;
    contexts.forEach((tokens, b) => {
      const contextIndex = first + b;
      const example = (feature: number) => activationExample(contextIndex, tokens, column(acts, b, feature, seqLen, nFeatures));
      for (let t = 0; t < seqLen; t++) {
        const row = (b * seqLen + t) * nFeatures;
        for (let f = 0; f < nFeatures; f++) {
          const act = acts[row + f];
          if (!(act > 0)) continue;
          const max = this.maxActs[f];
          this.histograms[f * bins + binIndex(act, 0, max, bins)]++;
          const interval = f * intervals + binIndex(act, 0, max, intervals);
          const seen = ++this.intervalCounts[interval];
          // Algorithm R: the seen-th token replaces a random slot with probability examplesPerInterval / seen
          const slot = seen <= examplesPerInterval ? seen - 1 : Math.floor(this.randoms[f]() * seen);
          if (slot < examplesPerInterval) this.reservoirs[interval][slot] = { ...example(f), position: t, act };
        }
      }
      for (const { feature, rank } of this.pendingTop.get(contextIndex) ?? []) {
        this.topExamples[feature][rank] = example(feature);
      }
    });
  }

  /** Non-zero activations over [0, max]; empty for a feature that never fired. */
  histogram(feature: number): Histogram {
    const max = this.maxActs[feature];
    if (!(max > 0)) return { edges: [], counts: [] };
    const bins = this.options.histogramBins;
    return { edges: binEdges(0, max, bins), counts: Array.from(this.histograms.subarray(feature * bins, (feature + 1) * bins)) };
  }

  /** The quantile intervals, lowest first, with their examples by activation, largest first. */
  intervals(feature: number): ActivationInterval[] {
    const max = this.maxActs[feature];
    if (!(max > 0)) return [];
    const n = this.options.intervals;
    const edges = binEdges(0, max, n);
    return Array.from({ length: n }, (_, i) => ({
      lo: edges[i],
      hi: edges[i + 1],
      count: this.intervalCounts[feature * n + i],
      examples: [...this.reservoirs[feature * n + i]].sort((a, b) => b.act - a.act),
    }));
  }
}

/** Feature f's activations over context b of a [batch, T, F] block. */
function column(acts: Float32Array, b: number, f: number, seqLen: number, nFeatures: number): Float32Array {
  const out = new Float32Array(seqLen);
  for (let t = 0; t < seqLen; t++) out[t] = acts[(b * seqLen + t) * nFeatures + f];
  return out;
}

function activationExample(contextIndex: number, tokens: number[], acts: Float32Array): ActivationExample {
  let maxPos = 0;
  for (let t = 1; t < acts.length; t++) if (acts[t] > acts[maxPos]) maxPos = t;
  return { contextIndex, tokens, acts, maxAct: acts[maxPos], maxPos };
}
