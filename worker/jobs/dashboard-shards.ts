/**
 * A worker's part in a dashboard run: it claims the run's shards (server/dashboard-shards.ts) one after another,
 * computes each (compute/dashboards: the dashboards of its range of features, or an evals pass over its range of the
 * corpus), and stores it. The worker that runs the dashboards job does this for its own run; an idle worker does it
 * for any run with shards waiting (helpWithRun), so one job is shared by every idle worker on every machine. One shard
 * at a time per process: the computation is synchronous.
 */
import { eq } from 'drizzle-orm';
import { dashboardRuns, models, saes } from '@/drizzle/schema';
import { loadCorpusContexts } from '@/server/corpora';
import {
  claimShard, completeShard, evalSumsOf, failShard, reportShard, type ShardResult, type ShardRow, type ShardTimings,
} from '@/server/dashboard-shards';
import type { Db } from '@/server/db';
import type { ModelRow } from '@/server/models';
import type { SaeRow } from '@/server/saes';
import { jobKinds, type JobParams } from '@/jobs';
import { computeDashboards, HookActivationCache } from '@/compute/dashboards/compute';
import { computeEvalRange } from '@/compute/dashboards/eval-passes';
import { EvalAccumulator } from '@/compute/dashboards/evals';
import type { DashboardProgress } from '@/compute/dashboards/types';
import type { LanguageModel } from '@/compute/model/types';
import type { Sae } from '@/compute/sae/sae';
import { getModel, getSae } from '@/worker/model-cache';

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
 * The hook activations of the run this process worked on last, kept for its next shard of the same run: later shards
 * then only run the SAE encoder (or, past the cache's budget, the model up to the hook).
 */
let lastRun: { runId: string; hookCache: HookActivationCache } | undefined;

function hookCacheOf(runId: string): HookActivationCache {
  if (lastRun?.runId !== runId) lastRun = { runId, hookCache: new HookActivationCache() };
  return lastRun.hookCache;
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

/** What the shard computes: the dashboards of its features over the whole corpus, or an evals pass over its contexts. */
async function computePart(work: ShardWork, shard: ShardRow, signal: AbortSignal, onProgress: (p: DashboardProgress) => Promise<void>): Promise<ShardResult> {
  const { params } = work;
  if (shard.kind === 'features') {
    const result = await computeDashboards({
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
      // the eval shards compute them
      evals: 'skip',
      hookCache: hookCacheOf(work.runId),
      signal,
      onProgress,
    });
    return { features: result.features, evals: null, timings: result.timings };
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
    contexts: await loadCorpusContexts(db, run.corpusId),
    params,
    features: params.features ?? Array.from({ length: sae.dSae }, (_, i) => i),
    runId,
    workerId,
  });
}
