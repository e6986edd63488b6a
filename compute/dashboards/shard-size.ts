/*
 * How many features a range of a dashboards job's features has: as many as a worker's memory budget holds the
 * bookkeeping of. Until its shard ends, a worker holds per feature its examples (top, interval and random ones, each a
 * copy of one context's activations in float32), its histograms and counts, its weight statistics, and, batch by batch,
 * its column of the activations read back from the device. (A merge shard reads the examples shards' parts one at a
 * time into its merge, so it briefly holds two ranges' interval examples.) Those bytes follow from the job's settings and its corpus alone, so a
 * plan sized by them is the same whichever worker makes it or computes its shards.
 */
import { EXAMPLES_PER_INTERVAL, HISTOGRAM_BINS, INTERVALS, TOP_K } from './defaults';

/** a worker's memory for one shard's per-feature bookkeeping, unless the worker is told otherwise (LEXICON_SHARD_MEMORY_MB) */
export const SHARD_MEMORY_MB = 256;
/** the most features a shard may have (the bound of the job's featuresPerShard) */
export const MAX_FEATURES_PER_SHARD = 65_536;
/** an example's object and its activations' array header, beside the activations themselves (V8, rounded up) */
const EXAMPLE_OVERHEAD_BYTES = 200;
/** a feature's weight statistics (logit weights, their histogram), counters and random streams, rounded up */
const FEATURE_OVERHEAD_BYTES = 2048;

export interface ShardSizing {
  /** tokens in the corpus's longest context */
  contextSize: number;
  /** contexts in the corpus (a feature has at most this many top and random examples) */
  nContexts: number;
  /** contexts per forward pass */
  batchSize: number;
  /** random examples per feature */
  randomExamples: number;
}

/** The bytes one feature of a shard holds at most (the dashboards' default top-k, intervals and histogram bins). */
export function featureBytes(sizing: ShardSizing): number {
  const { contextSize, nContexts, batchSize, randomExamples } = sizing;
  const examples = Math.min(TOP_K, nContexts) + INTERVALS * EXAMPLES_PER_INTERVAL + Math.min(randomExamples, nContexts);
  const example = 4 * contextSize + EXAMPLE_OVERHEAD_BYTES;
  // float64 counts: activation histogram, interval counts, firing/sum/BOS/contexts seen
  const counts = 8 * (HISTOGRAM_BINS + INTERVALS + 4);
  const batchColumn = 4 * batchSize * contextSize;
  return examples * example + counts + batchColumn + FEATURE_OVERHEAD_BYTES;
}

/** Features per shard within `budgetBytes`: at least one, at most MAX_FEATURES_PER_SHARD. */
export function featuresPerShardWithin(sizing: ShardSizing, budgetBytes: number): number {
  if (!(budgetBytes > 0)) throw new RangeError(`a shard's memory budget must be positive, got ${budgetBytes} bytes`);
  return Math.max(1, Math.min(MAX_FEATURES_PER_SHARD, Math.floor(budgetBytes / featureBytes(sizing))));
}

/**
 * The token positions ablating the top examples of `nFeatures` features runs at most, as counted before pass 1 finds
 * them: each of topK contexts of the longest length run once clean (unless the evals' clean pass measured it) and once
 * ablated. An upper bound, so that the exact count, once known, only brings the end nearer.
 */
export function ablationTokensEstimate(nFeatures: number, topK: number, contexts: number[][]): number {
  const longest = contexts.reduce((max, context) => Math.max(max, context.length), 0);
  return 2 * nFeatures * Math.min(topK, contexts.length) * longest;
}
