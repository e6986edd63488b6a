import { deriveSeed } from '../random';
import { binEdges, binIndex } from './histogram';
import type { ActivationExample, ActivationInterval, ExampleAblation, FeatureDashboard, Histogram, IntervalExample } from './types';
import type { FeatureWeights } from './weights';

/*
 * Per-feature bookkeeping of the two passes over the corpus, mergeable: each pass over a range of the corpus keeps a
 * part that merges with the other ranges' parts into exactly what one pass over the whole corpus keeps (counts and
 * the sampled examples equal; float64 sums up to their order of addition). Features are numbered by column 0..F−1 of
 * the activations handed in (the features being computed, in the order asked for).
 *
 * Samples are drawn by bottom-k: each candidate gets a priority hashed from (seed, feature, context[, position]),
 * and the k smallest are kept — a uniform sample without replacement, seeded per feature, that does not depend on the
 * order candidates are seen in nor on how the corpus is split (the bottom k of a union are the bottom k of the parts'
 * bottom k), nor on which other features are computed alongside.
 */

/** A context's largest activation of one feature, before its per-token activations are read (pass 2). */
export interface TopCandidate {
  contextIndex: number;
  maxAct: number;
  maxPos: number;
}

/** A context where the feature fires, drawn for its random examples by the smallest priorities. */
export interface RandomCandidate {
  contextIndex: number;
  priority: number;
}

/** A token drawn for an interval, with its context's activations (by the smallest priorities). */
export interface IntervalCandidate extends IntervalExample {
  priority: number;
}

/** The order that decides the top examples: larger maximum first, then the earlier context. */
export const byTop = (a: TopCandidate, b: TopCandidate) => b.maxAct - a.maxAct || a.contextIndex - b.contextIndex;
/** The order bottom-k keeps the smallest of: priority, then (for equal hashes) context and position. */
export const byPriority = (a: RandomCandidate | IntervalCandidate, b: RandomCandidate | IntervalCandidate) =>
  a.priority - b.priority || a.contextIndex - b.contextIndex || ('position' in a && 'position' in b ? a.position - b.position : 0);

/** The first k of lists each sorted by `order`: the merge of parts kept by the same rule. */
export function firstOf<T>(lists: T[][], k: number, order: (a: T, b: T) => number): T[] {
  return lists.flat().sort(order).slice(0, k);
}

/** Inserts `item` into `list`, sorted by `order` and at most k long, if it is among the first k. */
function keepFirst<T>(list: T[], item: T, k: number, order: (a: T, b: T) => number): void {
  if (list.length === k && order(item, list[k - 1]) >= 0) return;
  let at = list.length;
  while (at > 0 && order(item, list[at - 1]) < 0) at--;
  list.splice(at, 0, item);
  if (list.length > k) list.pop();
}

/** The random contexts of a feature come from their own stream, so they leave its interval samples as they were. */
const RANDOM_CONTEXT_STREAM = 1;

/** Per feature: the seed its interval priorities hash from, and the one its random contexts' priorities hash from. */
function featureSeeds(seed: number, features: number[]): { intervals: Uint32Array; contexts: Uint32Array } {
  const intervals = Uint32Array.from(features, (index) => deriveSeed(seed, index));
  return { intervals, contexts: intervals.map((s) => deriveSeed(s, RANDOM_CONTEXT_STREAM)) };
}

export interface TotalsOptions {
  /** the SAE feature index of each column, to seed its sampling */
  features: number[];
  topK: number;
  /** contexts drawn per feature among those where it fires */
  randomExamples: number;
  seed: number;
}

/**
 * Pass 1 over a range of the corpus: firing counts, activation sums and, per feature, the topK contexts by maximum
 * activation (sorted by byTop: a tie keeps the earlier context) and the randomExamples contexts where it fires with
 * the smallest priorities (sorted by byPriority). (Insertions are rare after the first few batches, so sorted arrays
 * beat heaps on simplicity at no cost.)
 */
export class ActivationTotals {
  /** tokens where the feature fires (BOS included) */
  readonly firing: Float64Array;
  readonly sums: Float64Array;
  /** firings at BOS tokens */
  readonly bosCounts: Float64Array;
  readonly top: TopCandidate[][];
  readonly random: RandomCandidate[][];
  private readonly contextSeeds: Uint32Array;

  constructor(private readonly options: TotalsOptions) {
    const nFeatures = options.features.length;
    this.firing = new Float64Array(nFeatures);
    this.sums = new Float64Array(nFeatures);
    this.bosCounts = new Float64Array(nFeatures);
    this.top = Array.from({ length: nFeatures }, () => []);
    this.random = Array.from({ length: nFeatures }, () => []);
    this.contextSeeds = featureSeeds(options.seed, options.features).contexts;
  }

  /** The parts of consecutive ranges, in corpus order, merged: sums added in that order. */
  static merged(parts: ActivationTotals[]): ActivationTotals {
    const merged = new ActivationTotals(parts[0].options);
    const { topK, randomExamples } = merged.options;
    for (const part of parts) {
      for (let f = 0; f < merged.top.length; f++) {
        merged.firing[f] += part.firing[f];
        merged.sums[f] += part.sums[f];
        merged.bosCounts[f] += part.bosCounts[f];
      }
    }
    merged.top.forEach((_, f) => {
      merged.top[f] = firstOf(parts.map((part) => part.top[f]), topK, byTop);
      merged.random[f] = firstOf(parts.map((part) => part.random[f]), randomExamples, byPriority);
    });
    return merged;
  }

  /** each feature's largest activation (0 for one that never fired) */
  maxActs(): number[] {
    return this.top.map((list) => list[0]?.maxAct ?? 0);
  }

  /**
   * For contexts first..first+batch−1: contextMax and contextArgMax are [batch, F] (each context's largest
   * activation of each feature and its position, over the tokens that may be examples), batchFiring [F] the
   * firings over the batch, batchSums [F] the activation sums over it and batchBos [F] the firings at BOS tokens.
   */
  add(first: number, contextMax: Float32Array, contextArgMax: Int32Array, batchFiring: Float32Array, batchSums: Float32Array, batchBos: Float32Array): void {
    const { topK, randomExamples } = this.options;
    const nFeatures = this.top.length;
    const batch = contextMax.length / nFeatures;
    for (let f = 0; f < nFeatures; f++) {
      this.firing[f] += batchFiring[f];
      this.sums[f] += batchSums[f];
      this.bosCounts[f] += batchBos[f];
    }
    for (let b = 0; b < batch; b++) {
      const contextIndex = first + b;
      for (let f = 0; f < nFeatures; f++) {
        const maxAct = contextMax[b * nFeatures + f];
        if (!(maxAct > 0)) continue;
        const top = this.top[f];
        // contexts come in corpus order, so a tie with the last kept one loses (byTop)
        if (top.length < topK || maxAct > top[top.length - 1].maxAct) {
          keepFirst(top, { contextIndex, maxAct, maxPos: contextArgMax[b * nFeatures + f] }, topK, byTop);
        }
        if (randomExamples > 0) keepFirst(this.random[f], { contextIndex, priority: deriveSeed(this.contextSeeds[f], contextIndex) }, randomExamples, byPriority);
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
  /** leave BOS tokens out of histograms, intervals, random contexts and each example's peak */
  excludeBos: boolean;
  bosId: number;
}

/** What pass 2 needs from pass 1 over the whole corpus (ActivationTotals merged). */
export interface SampleTargets {
  /** per feature, its largest activation */
  maxActs: ArrayLike<number>;
  /** per feature, the contexts of its top examples, and of its random ones, whose activations pass 2 reads */
  top: { contextIndex: number }[][];
  random: { contextIndex: number }[][];
}

/**
 * Pass 2 over a range of the corpus, with each feature's maximum, top and random contexts known from pass 1 over the
 * whole corpus: histograms of the non-zero activations over [0, max], counts per quantile interval and, per
 * interval, the examplesPerInterval tokens with the smallest priorities (hashed from seed, feature, context and
 * position), and the per-token activations of the top and random contexts that lie in the range. Examples copy one
 * context's activations when they are taken, so nothing else is kept.
 */
export class ActivationSamples {
  readonly histograms: Float64Array;
  readonly intervalCounts: Float64Array;
  /** [feature · intervals + interval], sorted by byPriority */
  readonly intervalSamples: IntervalCandidate[][];
  /** per feature, by rank in targets.top / targets.random: the examples found in this range (the rest are holes) */
  readonly topExamples: ActivationExample[][];
  readonly randomExamples: ActivationExample[][];
  /** context index → the example slots waiting for its activations */
  private readonly pending = new Map<number, { feature: number; rank: number; slots: ActivationExample[][] }[]>();
  private readonly intervalSeeds: Uint32Array;

  constructor(
    private readonly targets: SampleTargets,
    private readonly options: SampleOptions,
  ) {
    const nFeatures = targets.maxActs.length;
    this.histograms = new Float64Array(nFeatures * options.histogramBins);
    this.intervalCounts = new Float64Array(nFeatures * options.intervals);
    this.intervalSamples = Array.from({ length: nFeatures * options.intervals }, () => []);
    this.topExamples = targets.top.map((list) => new Array<ActivationExample>(list.length));
    this.randomExamples = targets.random.map((list) => new Array<ActivationExample>(list.length));
    const wait = (lists: { contextIndex: number }[][], slots: ActivationExample[][]) =>
      lists.forEach((list, feature) =>
        list.forEach(({ contextIndex }, rank) => {
          const waiting = this.pending.get(contextIndex) ?? [];
          waiting.push({ feature, rank, slots });
          this.pending.set(contextIndex, waiting);
        }),
      );
    wait(targets.top, this.topExamples);
    wait(targets.random, this.randomExamples);
    this.intervalSeeds = featureSeeds(options.seed, options.features).intervals;
  }

  /** The parts of the ranges that cover the corpus, each range once, merged (the same whatever their order). */
  static merged(parts: ActivationSamples[]): ActivationSamples {
    const merged = new ActivationSamples(parts[0].targets, parts[0].options);
    for (const part of parts) {
      part.histograms.forEach((n, i) => (merged.histograms[i] += n));
      part.intervalCounts.forEach((n, i) => (merged.intervalCounts[i] += n));
      for (const [mine, theirs] of [[merged.topExamples, part.topExamples], [merged.randomExamples, part.randomExamples]]) {
        theirs.forEach((list, f) => list.forEach((example, rank) => (mine[f][rank] = example)));
      }
    }
    merged.intervalSamples.forEach((_, i) => {
      merged.intervalSamples[i] = firstOf(parts.map((part) => part.intervalSamples[i]), merged.options.examplesPerInterval, byPriority);
    });
    return merged;
  }

  /** acts: [batch, T, F] row-major, for the contexts first..first+batch−1 whose token ids are `contexts`. */
  add(first: number, contexts: number[][], acts: Float32Array): void {
    const { histogramBins: bins, intervals, examplesPerInterval } = this.options;
    const nFeatures = this.targets.maxActs.length;
    const seqLen = contexts[0].length;
    contexts.forEach((tokens, b) => {
      const contextIndex = first + b;
      const counted = this.countedPositions(tokens);
      const example = (feature: number) => activationExample(contextIndex, tokens, column(acts, b, feature, seqLen, nFeatures), counted);
      for (let t = 0; t < seqLen; t++) {
        if (!counted[t]) continue;
        const row = (b * seqLen + t) * nFeatures;
        for (let f = 0; f < nFeatures; f++) {
          const act = acts[row + f];
          if (!(act > 0)) continue;
          const max = this.targets.maxActs[f];
          this.histograms[f * bins + binIndex(act, 0, max, bins)]++;
          const interval = f * intervals + binIndex(act, 0, max, intervals);
          this.intervalCounts[interval]++;
          if (examplesPerInterval === 0) continue;
          const samples = this.intervalSamples[interval];
          const priority = deriveSeed(deriveSeed(this.intervalSeeds[f], contextIndex), t);
          const candidate = { priority, contextIndex, position: t };
          if (samples.length === examplesPerInterval && byPriority(candidate, samples[examplesPerInterval - 1]) >= 0) continue;
          keepFirst(samples, { ...example(f), position: t, act, priority }, examplesPerInterval, byPriority);
        }
      }
      for (const { feature, rank, slots } of this.pending.get(contextIndex) ?? []) slots[feature][rank] = example(feature);
    });
  }

  /** An example of the context with these activations (as `add` takes it): its peak among the counted tokens. */
  exampleOf(contextIndex: number, tokens: number[], acts: Float32Array): ActivationExample {
    return activationExample(contextIndex, tokens, acts, this.countedPositions(tokens));
  }

  /** [t]: whether token t counts towards examples and histograms (every token but BOS, with excludeBos). */
  private countedPositions(tokens: number[]): boolean[] {
    const { excludeBos, bosId } = this.options;
    return tokens.map((id) => !(excludeBos && id === bosId));
  }

  /** Non-zero activations over [0, max]; empty for a feature that never fired. */
  histogram(feature: number): Histogram {
    const max = this.targets.maxActs[feature];
    if (!(max > 0)) return { edges: [], counts: [] };
    const bins = this.options.histogramBins;
    return { edges: binEdges(0, max, bins), counts: Array.from(this.histograms.subarray(feature * bins, (feature + 1) * bins)) };
  }

  /** The feature's random contexts, in corpus order. */
  randomExamplesOf(feature: number): ActivationExample[] {
    return [...this.randomExamples[feature]].sort((a, b) => a.contextIndex - b.contextIndex);
  }

  /** The quantile intervals, lowest first, with their examples by activation, largest first. */
  intervals(feature: number): ActivationInterval[] {
    const max = this.targets.maxActs[feature];
    if (!(max > 0)) return [];
    const n = this.options.intervals;
    const edges = binEdges(0, max, n);
    return Array.from({ length: n }, (_, i) => ({
      lo: edges[i],
      hi: edges[i + 1],
      count: this.intervalCounts[feature * n + i],
      examples: this.intervalSamples[feature * n + i].map(({ priority: _, ...example }) => example).sort((a, b) => b.act - a.act),
    }));
  }
}

/**
 * The dashboards of `features` (SAE indices, by column) from both passes' bookkeeping over the whole corpus of nTokens
 * tokens (merged, for a corpus computed in ranges), their weights' part and, when asked for, their top examples'
 * ablations.
 */
export function featureDashboards(
  features: number[],
  nTokens: number,
  bosExcluded: boolean,
  totals: ActivationTotals,
  samples: ActivationSamples,
  weights: FeatureWeights[],
  ablations?: ExampleAblation[][],
): FeatureDashboard[] {
  const { firing, sums, bosCounts } = totals;
  const maxActs = totals.maxActs();
  return features.map((index, f) => ({
    index,
    nTokens,
    nonzeroCount: firing[f],
    bosCount: bosCounts[f],
    bosExcluded,
    density: firing[f] / nTokens,
    maxAct: maxActs[f],
    meanAct: firing[f] > 0 ? sums[f] / firing[f] : 0,
    meanActAll: sums[f] / nTokens,
    histogram: samples.histogram(f),
    topExamples: samples.topExamples[f],
    randomExamples: samples.randomExamplesOf(f),
    intervals: samples.intervals(f),
    ...weights[f],
    ...(ablations && { topExampleAblation: ablations[f] }),
  }));
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
