/** Feature dashboards and SAE evals over a corpus (all features, or some: a recompute from a feature page). */
import { z } from '../zod';
import { MAX_FEATURES_PER_SHARD } from '@/compute/dashboards/shard-size';
import type { DashboardTimings } from '@/compute/dashboards/types';
import { describes, type JobKind } from '../kind';

/** where the time went: the computation's parts summed over the shards, and the database */
const timings = describes<DashboardTimings>()(
  z.object({
    modelSeconds: z.number(),
    saeSeconds: z.number(),
    bookkeepingSeconds: z.number(),
    weightsSeconds: z.number(),
    totalSeconds: z.number(),
    tokensPerSecond: z.number(),
    /** reading the corpus, beginning, storing and completing the run, and the part of it the computation waited for */
    databaseSeconds: z.number(),
    databaseWaitSeconds: z.number(),
    /** similar features from the weights (a whole-SAE run) */
    similarSeconds: z.number().default(0),
    /** how long after the shards were created each worker claimed its first one, soonest first */
    firstClaimSeconds: z.array(z.number()).default([]),
    /** completing the run and dropping its shards */
    completeSeconds: z.number().default(0),
    /** shards: features over the corpus, and the evals over ranges of it */
    chunks: z.number().int(),
    /** the workers that computed the shards */
    workers: z.number().int().default(1),
  }),
);

export const dashboards = {
  title: 'Dashboards',
  params: z.object({
    saeId: z.string().uuid(),
    corpusId: z.string().uuid(),
    features: z.array(z.number().int().nonnegative()).min(1).optional(),
    ablateTopExamples: z.boolean().default(false),
    /** logit weights with the final norm folded into W_U (TransformerLens fold_ln, as Neuronpedia shows them); false: raw W_dec·W_U */
    foldLn: z.boolean().default(true),
    /** leave BOS out of the examples, the max and the histogram (density counts it, and each feature's BOS count is stored) */
    excludeBos: z.boolean().default(true),
    /** contexts drawn at random among those where a feature fires, shown beside the top ones */
    randomExamples: z.number().int().min(0).max(100).default(10),
    batchSize: z.number().int().min(1).max(256).default(8),
    seed: z.number().int().default(0),
    /**
     * features per shard: the job is split into shards of this many features, each a pass over the corpus that any
     * idle worker may take (default: as many as LEXICON_SHARD_MEMORY_MB holds the examples and histograms of, fixed by
     * the job's worker when it plans the shards and recorded in the run's params)
     */
    featuresPerShard: z.number().int().min(1).max(MAX_FEATURES_PER_SHARD).optional(),
  }),
  /** the stored run (the dashboards themselves are rows of it), where the time went, and whether it became current */
  result: z.object({
    runId: z.string().uuid(),
    features: z.number().int(),
    nTokens: z.number().int(),
    foldLn: z.boolean(),
    excludeBos: z.boolean(),
    timings,
    current: z.boolean(),
    warning: z.string().optional(),
  }),
  expirySeconds: 12 * 60 * 60,
} satisfies JobKind;
