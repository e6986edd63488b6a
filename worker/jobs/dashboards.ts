import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { eq } from 'drizzle-orm';
import { corpora } from '@/drizzle/schema';
import { loadCorpusContexts, type CorpusRow } from '@/server/corpora';
import { createShards, dropShards, evalSumsOf, planShards, shardsOf, summarizeShards, watchShards, type ShardRow } from '@/server/dashboard-shards';
import { abandonRun, beginRun, completeRun } from '@/server/dashboards';
import type { Db } from '@/server/db';
import { eventHub } from '@/server/events';
import type { JobParams } from '@/jobs';
import type { ProgressDetail } from '@/jobs/types';
import type { ModelRow } from '@/server/models';
import type { SaeRow } from '@/server/saes';
import { rangesOfBatches } from '@/compute/dashboards/compute';
import { HISTOGRAM_BINS } from '@/compute/dashboards/defaults';
import { EvalAccumulator } from '@/compute/dashboards/evals';
import { featuresPerShardWithin, SHARD_MEMORY_MB } from '@/compute/dashboards/shard-size';
import type { DashboardPhase, DashboardProgress, DashboardTimings } from '@/compute/dashboards/types';
import { InputError } from '@/compute/errors';
import type { LanguageModel } from '@/compute/model/types';
import type { Sae } from '@/compute/sae/sae';
import { startHeartbeat } from '../heartbeat';
import { Wakeup } from '../wakeup';
import type { JobContext, JobOutput } from './context';
import { firstClaimSeconds, sumShardTimings, workOnShards } from './dashboard-shards';
import { computeSimilarFeatures } from './similar-features';

/**
 * The memory a worker gives one feature shard's bookkeeping (its examples, histograms: compute/dashboards/shard-size.ts),
 * from LEXICON_SHARD_MEMORY_MB: the job's worker sizes the feature shards by it when the job does not say (each shard
 * streams the corpus again, but a worker keeps the hook activations between its shards of a run, within
 * HookActivationCache's budget, so its later shards run only the SAE encoder).
 */
export function shardMemoryBytes(): number {
  const raw = process.env.LEXICON_SHARD_MEMORY_MB?.trim();
  const mb = raw ? Number(raw) : SHARD_MEMORY_MB;
  if (!(Number.isFinite(mb) && mb > 0)) throw new InputError(`LEXICON_SHARD_MEMORY_MB must be a positive number of MiB, got "${raw}"`);
  return mb * 2 ** 20;
}
/**
 * Ranges of the corpus the SAE evals are split into, for each of their two passes (the model run three times, then
 * once more): so that workers share the evals, the longest part of a small SAE's job, in pieces that keep them busy.
 */
export const EVAL_RANGES = 8;
/**
 * Ranges of the corpus each range of a whole SAE's features makes its two passes over (compute/dashboards/compute.ts
 * rangesOfBatches: whole batches, at most one range per batch), so that workers share even a small SAE's features.
 */
export const PASS_RANGES = 8;
/**
 * Progress reports at most this often (and at each phase's first and last report); also how often the job's worker,
 * finding no shard it may start, looks again when no announcement wakes it first: a process that listens (a worker's,
 * a command's: bin/jobs.ts runInProcess) is woken by each shard's end (watchShards), so this is only its fallback.
 */
const PROGRESS_INTERVAL_MS = 1000;

/** What the pages call the computation's phases. */
const PHASE_NAMES: Record<DashboardPhase, string> = {
  weights: 'logit weights',
  statistics: 'first pass: statistics',
  examples: 'second pass: examples',
  ablation: 'ablating the top examples',
  evals: 'evals: clean, spliced and zero-ablated losses',
  'mean-ablation': 'evals: mean-ablated losses',
};

export interface DashboardsInput {
  db: Db;
  model: LanguageModel;
  sae: Sae;
  modelRow: ModelRow;
  saeRow: SaeRow;
  corpus: CorpusRow;
  params: JobParams<'dashboards'>;
  /** the job the run belongs to (a retried job drops its earlier attempt's rows); null from the command line */
  jobId: string | null;
  signal?: AbortSignal;
  /** the fraction done and what is going on (from reading the corpus on), at most once a second (and at each phase's start and end); awaited */
  onProgress?: (fraction: number, detail: ProgressDetail) => void | Promise<void>;
  /**
   * this worker's heartbeat id, under which it claims shards; without one (the command line, a benchmark) the run
   * beats a heartbeat of its own while it runs, so that workers sharing the database take its shards for live ones
   */
  workerId?: string;
}

/** Where the time went: the computation's parts summed over the shards (on whichever workers), and the database. */
export interface DashboardsTimings extends Omit<DashboardTimings, 'tokensPerSecond' | 'totalSeconds'> {
  /** reading the corpus, beginning the run, storing the shards (summed over workers) and completing the run */
  databaseSeconds: number;
  /** the part of databaseSeconds the job's worker waited for (its own work with the database) */
  databaseWaitSeconds: number;
  /** similar features (a whole-SAE run): the SAE's and other SAEs' weights compared */
  similarSeconds: number;
  /** how long after the shards were created each worker claimed its first one, soonest first */
  firstClaimSeconds: number[];
  /** completing the run (its evals and similar features stored, made current) and dropping its shards */
  completeSeconds: number;
  totalSeconds: number;
  /** corpus tokens / totalSeconds */
  tokensPerSecond: number;
  /** shards: a range of features' passes over a range of the corpus and their merge, or the evals over a range of the corpus */
  chunks: number;
  /** the workers that computed its shards */
  workers: number;
}

export interface DashboardsOutcome {
  runId: string;
  features: number;
  nTokens: number;
  timings: DashboardsTimings;
  /** whether the run became current: one over far fewer tokens than the current run is kept beside it instead */
  current: boolean;
  /** why it did not: a sentence for the job's result and the command line */
  warning?: string;
}

/**
 * Computes an SAE's dashboards over a corpus and stores them as a dashboard run, made current only when complete
 * (server/dashboards.ts). The dashboards job, `lexicon dashboards` and the demo all come through here.
 * On any failure or cancellation the run's rows are deleted; the current dashboards stay as they were.
 */
export async function computeAndStoreDashboards(input: DashboardsInput): Promise<DashboardsOutcome> {
  const { db, model, sae, saeRow, corpus, params, signal } = input;
  if (corpus.modelId !== saeRow.modelId) throw new InputError(`corpus "${corpus.name}" was tokenized for another model`);
  const outOfRange = params.features?.find((f) => f >= sae.dSae);
  if (outOfRange !== undefined) throw new InputError(`feature ${outOfRange} is out of range: this SAE has ${sae.dSae} features`);

  const started = performance.now();
  /** the job's worker's database work (wall clock) */
  let databaseSeconds = 0;
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      databaseSeconds += (performance.now() - start) / 1000;
    }
  };
  await input.onProgress?.(0, { phase: 'reading the corpus' });
  const contexts = await timed(() => loadCorpusContexts(db, corpus.id));
  const subset = params.features !== undefined;
  const wanted = params.features ?? Array.from({ length: sae.dSae }, (_, i) => i);
  // fixed here, recorded in the run's params: any worker computes the plan's shards as they are
  const featuresPerShard =
    params.featuresPerShard ??
    featuresPerShardWithin(
      { contextSize: contexts.reduce((n, c) => Math.max(n, c.length), 0), nContexts: contexts.length, batchSize: params.batchSize, randomExamples: params.randomExamples },
      shardMemoryBytes(),
    );
  // a subset's run stores no evals, and makes its passes in one range: it is small (a recompute from a feature page)
  // and quick, and more shards would only add their overhead
  const passRanges = rangesOfBatches(contexts, params.batchSize, subset ? 1 : PASS_RANGES);
  const plan = planShards(contexts, wanted.length, featuresPerShard, passRanges, subset ? 0 : EVAL_RANGES, params);
  const run = await timed(() => beginRun(db, { saeId: saeRow.id, corpusId: corpus.id, jobId: input.jobId, params: { ...params, featuresPerShard } }));
  const heartbeat = input.workerId ? undefined : await startHeartbeat(db, tf.getBackend(), `${os.hostname()}:${process.pid}:dashboards`);
  const workerId = input.workerId ?? heartbeat!.id;
  // woken when one of its shards ends elsewhere, in a process that listens (a worker's, a command's)
  const wakeup = new Wakeup();
  const unwatch = eventHub().connected
    ? watchShards((runId) => {
        if (runId === undefined || runId === run.id) wakeup.set();
      })
    : undefined;
  try {
    // The shards are open to every worker from here (helpWhenIdle: idle workers hear of them), so that they start
    // while this one compares the weights; it then works on the shards too, and waits for the rest, taking over any
    // whose worker died.
    await timed(() => createShards(db, run.id, plan));
    // from the weights alone; a subset's run keeps the neighbours of the last whole-SAE run
    const similarStart = performance.now();
    let lastSimilarReport = 0;
    const similar = subset
      ? undefined
      : await computeSimilarFeatures({
          db,
          weights: sae.weights,
          saeRow,
          signal,
          onProgress: async (done, total) => {
            if (Date.now() - lastSimilarReport < PROGRESS_INTERVAL_MS && done < total) return;
            lastSimilarReport = Date.now();
            const seconds = (performance.now() - similarStart) / 1000;
            const rate = done / Math.max(seconds, 1e-3);
            await input.onProgress?.(0, { phase: 'similar features', unit: 'features', done, total, rate, etaSeconds: rate > 0 ? (total - done) / rate : null });
          },
        });
    const similarSeconds = (performance.now() - similarStart) / 1000;

    /** The job's progress: the run's tokens and rates summed over its shards, in this worker's phase. */
    const report = async (phase: string, own?: { shard: ShardRow; progress?: DashboardProgress }): Promise<void> => {
      const summary = summarizeShards(await shardsOf(db, run.id));
      const figures = {
        tokensDone: summary.tokensDone,
        tokensTotal: summary.tokensTotal,
        tokensPerSecond: summary.tokensPerSecond,
        shards: { done: summary.done, total: summary.total, running: summary.running, workers: summary.workers },
        chunk: (own?.shard.index ?? summary.done) + 1,
        chunks: summary.total,
      };
      const weights = own?.progress?.features;
      const detail: ProgressDetail = !own?.progress
        ? { phase, unit: 'chunks', done: summary.done, total: summary.total, ...figures }
        : weights
          ? { phase, unit: 'features', done: weights.done, total: weights.total, rate: weights.perSecond, etaSeconds: own.progress.etaSeconds, ...figures }
          : { phase, unit: 'tokens', done: summary.tokensDone, total: summary.tokensTotal, rate: summary.tokensPerSecond, etaSeconds: summary.etaSeconds, ...figures };
      await input.onProgress?.(summary.tokensDone / Math.max(1, summary.tokensTotal), detail);
    };
    const work = {
      db,
      model,
      sae,
      saeId: saeRow.id,
      contexts,
      params,
      features: wanted,
      runId: run.id,
      workerId,
      signal,
      onProgress: (shard: ShardRow, progress: DashboardProgress) => report(PHASE_NAMES[progress.phase], { shard, progress }),
      onStoring: (shard: ShardRow) => report('storing', { shard }),
    };
    let lastWaitReport = 0;
    for (;;) {
      // having computed some, it may have missed a shard orphaned meanwhile: look again before waiting
      if ((await workOnShards(work)) > 0) continue;
      const summary = summarizeShards(await shardsOf(db, run.id));
      // the run went with its shards: another worker took the job over, taking this one for dead
      if (summary.total === 0) throw new Error('the dashboard run was abandoned while its shards were computed');
      const { failed } = summary;
      if (failed) throw new Error(`shard ${failed.index + 1} of ${summary.total} failed on worker ${failed.workerId}: ${failed.error}`);
      if (summary.done === summary.total) break;
      if (Date.now() - lastWaitReport >= PROGRESS_INTERVAL_MS) {
        lastWaitReport = Date.now();
        await report('waiting for other workers');
      }
      await wakeup.wait(PROGRESS_INTERVAL_MS);
    }
    signal?.throwIfAborted();
    const shards = await timed(() => shardsOf(db, run.id));
    const evals = subset ? null : EvalAccumulator.merged(await timed(() => evalSumsOf(db, run.id, ['evals', 'mean-ablation']))).result(HISTOGRAM_BINS);
    const parts = sumShardTimings(shards);
    const totalSeconds = (performance.now() - started) / 1000;
    const timings: DashboardsTimings = {
      modelSeconds: parts.modelSeconds,
      saeSeconds: parts.saeSeconds,
      bookkeepingSeconds: parts.bookkeepingSeconds,
      weightsSeconds: parts.weightsSeconds,
      databaseSeconds: databaseSeconds + parts.storeSeconds,
      databaseWaitSeconds: databaseSeconds,
      similarSeconds,
      firstClaimSeconds: firstClaimSeconds(shards),
      completeSeconds: 0,
      totalSeconds,
      tokensPerSecond: corpus.nTokens / totalSeconds,
      chunks: shards.length,
      workers: new Set(shards.map((shard) => shard.workerId)).size,
    };
    const completeStart = performance.now();
    const stored = evals && (({ firingCounts: _counts, ...rest }) => rest)(evals);
    const completion = await completeRun(run.id, { evals: stored, timings, nTokens: corpus.nTokens, subset, similar });
    await dropShards(db, run.id);
    timings.completeSeconds = (performance.now() - completeStart) / 1000;
    timings.databaseSeconds += timings.completeSeconds;
    timings.databaseWaitSeconds += timings.completeSeconds;
    timings.totalSeconds = (performance.now() - started) / 1000;
    timings.tokensPerSecond = corpus.nTokens / timings.totalSeconds;
    const warning = completion.current
      ? undefined
      : `kept beside the current dashboards, not made current: this corpus has ${corpus.nTokens.toLocaleString('en')} tokens, the current run ` +
        `${completion.keptCurrentTokens!.toLocaleString('en')} (densities over far fewer tokens make rare features look dead); a maintainer ` +
        `can make it current on the SAE's page`;
    return { runId: run.id, features: wanted.length, nTokens: corpus.nTokens, timings, current: completion.current, warning };
  } catch (err) {
    // its shards go with it: a worker still computing one finds it gone at its next report and drops it
    await abandonRun(db, run.id);
    throw err;
  } finally {
    unwatch?.();
    await heartbeat?.stop({ forget: true });
  }
}

export async function dashboardsJob(params: JobParams<'dashboards'>, ctx: JobContext): Promise<JobOutput<'dashboards'>> {
  // pages poll the record from the start: a first load of a large model takes a while
  const report = async (fraction: number, detail: ProgressDetail) => {
    await ctx.progress(fraction, detail);
    ctx.signal.throwIfAborted();
  };
  await report(0, { phase: 'loading the model' });
  const { row: saeRow, sae, modelRow, model } = await ctx.sae(params.saeId);
  const corpus = await ctx.db.query.corpora.findFirst({ where: eq(corpora.id, params.corpusId) });
  if (!corpus) throw new InputError(`corpus ${params.corpusId} does not exist`);
  const outcome = await computeAndStoreDashboards({
    db: ctx.db,
    model,
    sae,
    modelRow,
    saeRow,
    corpus,
    params,
    jobId: ctx.jobId,
    workerId: ctx.workerId,
    signal: ctx.signal,
    onProgress: report,
  });
  return {
    result: {
      runId: outcome.runId,
      features: outcome.features,
      nTokens: outcome.nTokens,
      foldLn: params.foldLn,
      excludeBos: params.excludeBos,
      timings: outcome.timings,
      current: outcome.current,
      warning: outcome.warning,
    },
    inputs: { model: modelRow.contentHash, sae: saeRow.contentHash, corpus: corpus.contentHash },
  };
}
