/**
 * A worker's part in a dashboard run: it claims the run's shards (server/dashboard-shards.ts) one after another,
 * computes each (compute/dashboards: the dashboards of its range of features, or an evals pass over its range of the
 * corpus), and stores it. The worker that runs the dashboards job does this for its own run; an idle worker does it
 * for any run with shards waiting (helpWithRun, helpWhenIdle), so one job is shared by every idle worker on every
 * machine. One shard at a time per process: the computation is synchronous.
 */
import { eq } from 'drizzle-orm';
import { dashboardRuns, models, saes } from '@/drizzle/schema';
import { loadCorpusContexts } from '@/server/corpora';
import {
  claimShard, completeShard, evalSumsOf, failShard, partsOf, reportShard, runsWithOpenShards, watchShards, type ShardResult, type ShardRow, type ShardTimings,
} from '@/server/dashboard-shards';
import type { Db } from '@/server/db';
import { eventHub } from '@/server/events';
import type { ModelRow } from '@/server/models';
import type { SaeRow } from '@/server/saes';
import { jobKinds, type JobParams } from '@/jobs';
import { dashboardsOfParts, examplesOfRange, HookActivationCache, partOptions, statisticsOfRange } from '@/compute/dashboards/compute';
import { computeEvalRange } from '@/compute/dashboards/eval-passes';
import { EvalAccumulator } from '@/compute/dashboards/evals';
import { ActivationSamples, ActivationTotals } from '@/compute/dashboards/features';
import { decodeSamples, decodeTotals, encodeSamples, encodeTotals } from '@/compute/dashboards/parts';
import type { DashboardProgress } from '@/compute/dashboards/types';
import type { LanguageModel } from '@/compute/model/types';
import type { Sae } from '@/compute/sae/sae';
import { getModel, getSae } from '@/worker/model-cache';
import { Wakeup } from '@/worker/wakeup';

/** A shard's progress is written at most this often (and at each phase's first and last report). */
const SHARD_REPORT_MS = 1000;

export interface ShardWork {
  db: Db;
  model: LanguageModel;
  sae: Sae;
  saeId: string;
  contexts: number[][];
  params: JobParams<'dashboards'>;
  /** the run's feature list: params.features, or every feature */
  features: number[];
  runId: string;
  /** the heartbeat id of this worker */
  workerId: string;
  signal?: AbortSignal;
  /** after each progress write of one of this worker's shards (the job's worker reports the job's progress here) */
  onProgress?: (shard: ShardRow, progress: DashboardProgress) => Promise<void>;
  /** before a shard's rows are stored */
  onStoring?: (shard: ShardRow) => Promise<void>;
}

/** The shard was taken over by another worker, or its job cancelled: this worker drops it. */
class ShardLost extends Error {
  constructor() {
    super('the shard is no longer this worker’s');
    this.name = 'AbortError';
  }
}

let busy: Promise<unknown> = Promise.resolve();

/** Runs `work` after the process's shard work before it (one shard computation at a time per process). */
function exclusively<T>(work: () => Promise<T>): Promise<T> {
  const next = busy.then(work, work);
  busy = next.catch(() => undefined);
  return next;
}

/**
 * The run this process worked on last, kept for its next shard of the same run: the hook activations (later shards
 * then only run the SAE encoder, or past the cache's budget the model up to the hook) and, for a helper, the corpus.
 */
let lastRun: { runId: string; hookCache: HookActivationCache; contexts?: Promise<number[][]> } | undefined;

function lastRunOf(runId: string): NonNullable<typeof lastRun> {
  if (lastRun?.runId !== runId) lastRun = { runId, hookCache: new HookActivationCache() };
  return lastRun;
}

/** The run's corpus contexts, read once per run rather than each time this worker comes to help. */
function contextsOf(db: Db, runId: string, corpusId: string): Promise<number[][]> {
  const run = lastRunOf(runId);
  if (!run.contexts) {
    run.contexts = loadCorpusContexts(db, corpusId);
    // a failed read is read again next time
    run.contexts.catch(() => (run.contexts = undefined));
  }
  return run.contexts;
}

/**
 * Claims and computes the run's shards until none is left to claim (queued, or orphaned by a dead worker); returns
 * how many it computed. A shard that fails marks itself failed (its run's job then fails with its error) and throws.
 */
export function workOnShards(work: ShardWork): Promise<number> {
  return exclusively(async () => {
    let computed = 0;
    for (;;) {
      work.signal?.throwIfAborted();
      const shard = await claimShard(work.db, work.runId, work.workerId);
      if (!shard) return computed;
      if (await computeShard(work, shard)) computed++;
    }
  });
}

/** One shard: computed, then stored with its being done; false when it was lost to another worker or a cancel. */
async function computeShard(work: ShardWork, shard: ShardRow): Promise<boolean> {
  const { db, workerId } = work;
  const lost = new AbortController();
  const signal = work.signal ? AbortSignal.any([work.signal, lost.signal]) : lost.signal;
  let lastWrite = -Infinity;
  let lastPhase: string | undefined;
  const onProgress = async (p: DashboardProgress) => {
    const last = p.features ? p.features.done >= p.features.total : p.tokensDone >= p.tokensTotal;
    if (performance.now() - lastWrite < SHARD_REPORT_MS && p.phase === lastPhase && !last) return;
    lastWrite = performance.now();
    lastPhase = p.phase;
    const progress = { phase: p.phase, tokensDone: p.tokensDone, tokensTotal: p.tokensTotal, tokensPerSecond: p.tokensPerSecond };
    if (!(await reportShard(db, shard, workerId, progress))) lost.abort(new ShardLost());
    else await work.onProgress?.({ ...shard, ...progress }, p);
  };
  try {
    const result = await computePart(work, shard, signal, onProgress);
    await work.onStoring?.(shard);
    return await completeShard(shard, workerId, work.saeId, result);
  } catch (err) {
    if (lost.signal.aborted && !work.signal?.aborted) return false;
    if (!signal.aborted) await failShard(db, shard, workerId, (err as Error).message || String(err));
    throw err;
  }
}

/**
 * What the shard computes: for its range of features, a pass over its range of the corpus or the dashboards from both
 * passes' parts (read from the shards it waited for: claimShard); or an evals pass over its range of the corpus.
 */
async function computePart(work: ShardWork, shard: ShardRow, signal: AbortSignal, onProgress: (p: DashboardProgress) => Promise<void>): Promise<ShardResult> {
  const { params } = work;
  if (shard.kind === 'statistics' || shard.kind === 'examples' || shard.kind === 'features') {
    const options = {
      model: work.model,
      sae: work.sae,
      contexts: work.contexts,
      features: work.features.slice(shard.first, shard.first + shard.count),
      batchSize: params.batchSize,
      ablateTopExamples: params.ablateTopExamples,
      foldLn: params.foldLn,
      excludeBos: params.excludeBos,
      randomExamples: params.randomExamples,
      seed: params.seed,
      hookCache: lastRunOf(work.runId).hookCache,
      signal,
      onProgress,
    };
    const range = { first: shard.contextFirst, count: shard.contextCount };
    const { totals: totalsOptions, samples: sampleOptions } = partOptions(options);
    if (shard.kind === 'statistics') {
      const { part, timings } = await statisticsOfRange({ ...options, range });
      return { features: [], evals: null, part: encodeTotals(part), timings };
    }
    const totals = ActivationTotals.merged((await partsOf(work.db, work.runId, 'statistics', shard.first)).map((bytes) => decodeTotals(bytes, totalsOptions)));
    if (shard.kind === 'examples') {
      const { part, timings } = await examplesOfRange({ ...options, range }, totals);
      return { features: [], evals: null, part: encodeSamples(part), timings };
    }
    const targets = { maxActs: totals.maxActs(), top: totals.top, random: totals.random };
    // read one part at a time into the merge, so that no more than two parts' examples are held at once
    let samples: ActivationSamples | undefined;
    for (const bytes of await partsOf(work.db, work.runId, 'examples', shard.first)) {
      const part = decodeSamples(bytes, targets, sampleOptions, work.contexts);
      samples = samples ? ActivationSamples.merged([samples, part]) : part;
    }
    const { features, timings } = await dashboardsOfParts(options, totals, samples!);
    return { features, evals: null, timings };
  }
  // the mean-ablated pass replaces the hook by its corpus mean, from the first passes (all done: claimShard waits)
  const mean = shard.kind === 'mean-ablation' ? EvalAccumulator.merged(await evalSumsOf(work.db, work.runId, ['evals'])).meanActivation() : undefined;
  const { sums, timings } = await computeEvalRange({
    model: work.model,
    sae: work.sae,
    contexts: work.contexts,
    first: shard.contextFirst,
    count: shard.contextCount,
    batchSize: params.batchSize,
    mean,
    signal,
    onProgress,
  });
  return { features: [], evals: sums, timings };
}

/** What the shards' timings add up to: the parts of their computations and their storing (wall clock is the run's). */
export function sumShardTimings(rows: ShardRow[]) {
  const sum = { modelSeconds: 0, saeSeconds: 0, bookkeepingSeconds: 0, weightsSeconds: 0, storeSeconds: 0 };
  for (const row of rows) {
    const timings = row.timings as ShardTimings | null;
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += timings?.[key] ?? 0;
  }
  return sum;
}

/** How long after the shards were created each worker claimed its first one, in seconds, soonest first. */
export function firstClaimSeconds(rows: ShardRow[]): number[] {
  const first = new Map<string, number>();
  for (const row of rows) {
    if (!row.workerId || !row.startedAt) continue;
    first.set(row.workerId, Math.min(first.get(row.workerId) ?? Infinity, row.startedAt.getTime() - row.createdAt.getTime()));
  }
  return [...first.values()].sort((a, b) => a - b).map((ms) => ms / 1000);
}

/** The model and SAE a run's shards are computed with. */
export type RunModels = (rows: { sae: SaeRow; model: ModelRow }) => Promise<{ model: LanguageModel; sae: Sae }>;

/** The registered model and SAE, as the jobs load them (kept loaded between shards and jobs). */
const registered: RunModels = async (rows) => {
  const model = await getModel(rows.model.path, rows.model.contentHash);
  return { model, sae: await getSae(rows.sae.path, rows.sae.contentHash, model) };
};

/**
 * An idle worker's help with a run that has shards waiting: loads what the run's job loaded (model, SAE, corpus) and
 * works on its shards until none is left to claim. `load` gives the model and SAE (default: the registered ones).
 */
export async function helpWithRun(db: Db, workerId: string, runId: string, load: RunModels = registered): Promise<number> {
  const run = await db.query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, runId) });
  if (!run || run.status !== 'running') return 0;
  const saeRow = await db.query.saes.findFirst({ where: eq(saes.id, run.saeId) });
  const modelRow = saeRow && (await db.query.models.findFirst({ where: eq(models.id, saeRow.modelId) }));
  if (!saeRow || !modelRow) return 0;
  const { model, sae } = await load({ sae: saeRow, model: modelRow });
  const params = jobKinds.dashboards.params.parse(run.params);
  return workOnShards({
    db,
    model,
    sae,
    saeId: saeRow.id,
    contexts: await contextsOf(db, runId, run.corpusId),
    params,
    features: params.features ?? Array.from({ length: sae.dSae }, (_, i) => i),
    runId,
    workerId,
  });
}

/**
 * How often an idle worker looks for shards when nothing woke it: for a worker that died mid-shard (nothing announces
 * it; its heartbeat times out after LEXICON_WORKER_TIMEOUT_S anyway) and for announcements lost with the event
 * connection.
 */
export const SHARD_POLL_MS = 5000;

export interface IdleHelper {
  /** look for shards now (this worker just became idle) */
  wake(): void;
  /** no more looking (a shard being computed is finished first) */
  stop(): void;
}

/**
 * An idle worker's help with every run that has shards waiting: it looks when a run's shards are announced (created,
 * one done, a worker leaving them: watchShards), and every SHARD_POLL_MS. `idle()` says whether it may help now (a
 * worker running a job of its own does not); `load` gives the model and SAE (default: the registered ones).
 */
export async function helpWhenIdle(db: Db, workerId: string, { idle = () => true, load = registered }: { idle?: () => boolean; load?: RunModels } = {}): Promise<IdleHelper> {
  // listening before the first look, so that no announcement falls between them
  await eventHub()
    .ready()
    .catch((err: Error) => console.error(`[worker] no shard announcements (${err.message}): looking every ${SHARD_POLL_MS / 1000} s until connected`));
  const wakeup = new Wakeup();
  const unsubscribe = watchShards(() => wakeup.set());
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        if (idle()) for (const runId of await runsWithOpenShards(db)) await helpWithRun(db, workerId, runId, load);
      } catch (err) {
        if (!stopped) console.error('[worker] dashboard shard failed:', (err as Error).message);
      }
      await wakeup.wait(SHARD_POLL_MS);
    }
  })();
  return {
    wake: () => wakeup.set(),
    stop() {
      stopped = true;
      unsubscribe();
      wakeup.set();
    },
  };
}
