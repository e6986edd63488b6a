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
 * Pass 1: firing counts, activation sums and, per feature, the topK contexts by maximum activation. Each list is kept
 * sorted, largest first; a context replaces the smallest only when strictly larger, so ties keep the earlier context.
 * (Insertions are rare after the first few batches, so a sorted array beats a heap on simplicity at no cost.)
 */
export class ActivationTotals {
  /** tokens where the feature fires (BOS included) */
  readonly firing: Float64Array;
  readonly sums: Float64Array;
  /** firings at BOS tokens */
  readonly bosCounts: Float64Array;
  readonly top: TopCandidate[][];

  constructor(
    nFeatures: number,
    private readonly topK: number,
  ) {
    this.firing = new Float64Array(nFeatures);
    this.sums = new Float64Array(nFeatures);
    this.bosCounts = new Float64Array(nFeatures);
    this.top = Array.from({ length: nFeatures }, () => []);
  }

  /**
   * For contexts first..first+batch−1: contextMax and contextArgMax are [batch, F] (each context's largest
   * activation of each feature and its position, over the tokens that may be examples), batchFiring [F] the
   * firings over the batch, batchSums [F] the activation sums over it and batchBos [F] the firings at BOS tokens.
   */
  add(first: number, contextMax: Float32Array, contextArgMax: Int32Array, batchFiring: Float32Array, batchSums: Float32Array, batchBos: Float32Array): void {
    const nFeatures = this.top.length;
    const batch = contextMax.length / nFeatures;
    for (let f = 0; f < nFeatures; f++) {
      this.firing[f] += batchFiring[f];
      this.sums[f] += batchSums[f];
      this.bosCounts[f] += batchBos[f];
    }
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
  /** contexts drawn per feature among those where it fires */
  randomExamples: number;
  seed: number;
  /** leave BOS tokens out of histograms, intervals, random contexts and each example's peak */
  excludeBos: boolean;
  bosId: number;
}

/** The random contexts of a feature come from their own stream, so they leave its interval samples as they were. */
const RANDOM_CONTEXT_STREAM = 1;

/**
 * Pass 2, with each feature's maximum known from pass 1: histograms of the non-zero activations over [0, max],
 * counts per quantile interval and, per interval, a uniform sample of its tokens, and a uniform sample of the
 * contexts where it fires (reservoir sampling, seeded per feature, so the same corpus and seed give a feature the
 * same examples whichever other features are computed with it). It also reads the per-token activations of the top
 * contexts found in pass 1. Examples copy one context's activations when they are taken, so nothing else is kept.
 */
export class ActivationSamples {
  readonly topExamples: ActivationExample[][];
  private readonly histograms: Float64Array;
  private readonly intervalCounts: Float64Array;
  private readonly reservoirs: IntervalExample[][];
  /** per feature: contexts where it fired so far, and the sampled ones */
  private readonly contextsSeen: Float64Array;
  private readonly randomContexts: ActivationExample[][];
  /** context index → the top-example slots (feature, rank) waiting for its activations */
  private readonly pendingTop = new Map<number, { feature: number; rank: number }[]>();
  private readonly randoms: Random[];
  private readonly contextRandoms: Random[];

  constructor(
    private readonly maxActs: ArrayLike<number>,
    top: TopCandidate[][],
    private readonly options: SampleOptions,
  ) {
    const nFeatures = maxActs.length;
    this.histograms = new Float64Array(nFeatures * options.histogramBins);
    this.intervalCounts = new Float64Array(nFeatures * options.intervals);
    this.reservoirs = Array.from({ length: nFeatures * options.intervals }, () => []);
    this.contextsSeen = new Float64Array(nFeatures);
    this.randomContexts = Array.from({ length: nFeatures }, () => []);
    this.topExamples = top.map((list) => new Array<ActivationExample>(list.length));
    top.forEach((list, feature) =>
      list.forEach(({ contextIndex }, rank) => {
        const slots = this.pendingTop.get(contextIndex) ?? [];
        slots.push({ feature, rank });
        this.pendingTop.set(contextIndex, slots);
      }),
    );
    this.randoms = options.features.map((index) => seededRandom(deriveSeed(options.seed, index)));
    this.contextRandoms = options.features.map((index) => seededRandom(deriveSeed(deriveSeed(options.seed, index), RANDOM_CONTEXT_STREAM)));
  }

  /** acts: [batch, T, F] row-major, for the contexts first..first+batch−1 whose token ids are `contexts`. */
  add(first: number, contexts: number[][], acts: Float32Array): void {
    const { histogramBins: bins, intervals, examplesPerInterval, randomExamples } = this.options;
    const nFeatures = this.maxActs.length;
    const seqLen = contexts[0].length;
    const fired = new Uint8Array(nFeatures);
    contexts.forEach((tokens, b) => {
      const contextIndex = first + b;
      const counted = this.countedPositions(tokens);
      const example = (feature: number) => activationExample(contextIndex, tokens, column(acts, b, feature, seqLen, nFeatures), counted);
      fired.fill(0);
      for (let t = 0; t < seqLen; t++) {
        if (!counted[t]) continue;
        const row = (b * seqLen + t) * nFeatures;
        for (let f = 0; f < nFeatures; f++) {
          const act = acts[row + f];
          if (!(act > 0)) continue;
          fired[f] = 1;
          const max = this.maxActs[f];
          this.histograms[f * bins + binIndex(act, 0, max, bins)]++;
          const interval = f * intervals + binIndex(act, 0, max, intervals);
          const slot = reservoirSlot(++this.intervalCounts[interval], examplesPerInterval, this.randoms[f]);
          if (slot < examplesPerInterval) this.reservoirs[interval][slot] = { ...example(f), position: t, act };
        }
      }
      for (let f = 0; f < nFeatures; f++) {
        if (!fired[f]) continue;
        const slot = reservoirSlot(++this.contextsSeen[f], randomExamples, this.contextRandoms[f]);
        if (slot < randomExamples) this.randomContexts[f][slot] = example(f);
      }
      for (const { feature, rank } of this.pendingTop.get(contextIndex) ?? []) {
        this.topExamples[feature][rank] = example(feature);
      }
    });
  }

  /** A uniform sample of the contexts where the feature fired, in corpus order. */
  randomExamples(feature: number): ActivationExample[] {
    return [...this.randomContexts[feature]].sort((a, b) => a.contextIndex - b.contextIndex);
  }

  /** [t]: whether token t counts towards examples and histograms (every token but BOS, with excludeBos). */
  private countedPositions(tokens: number[]): boolean[] {
    const { excludeBos, bosId } = this.options;
    return tokens.map((id) => !(excludeBos && id === bosId));
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

/** Algorithm R: the seen-th item takes a random slot of `size` with probability size / seen (a slot ≥ size: none). */
function reservoirSlot(seen: number, size: number, random: Random): number {
  return seen <= size ? seen - 1 : Math.floor(random() * seen);
}

/** Feature f's activations over context b of a [batch, T, F] block. */
function column(acts: Float32Array, b: number, f: number, seqLen: number, nFeatures: number): Float32Array {
  const out = new Float32Array(seqLen);
  for (let t = 0; t < seqLen; t++) out[t] = acts[(b * seqLen + t) * nFeatures + f];
  return out;
}

/** The example's peak is the largest activation among the counted tokens (all of them, if none is counted). */
function activationExample(contextIndex: number, tokens: number[], acts: Float32Array, counted: boolean[]): ActivationExample {
  let maxPos = -1;
  for (let t = 0; t < acts.length; t++) if (counted[t] && (maxPos < 0 || acts[t] > acts[maxPos])) maxPos = t;
  if (maxPos < 0) maxPos = 0;
  return { contextIndex, tokens, acts, maxAct: acts[maxPos], maxPos };
}
