/**
 * The shards of a dashboard run: ranges of its features, each a pass over the whole corpus, that any worker on any
 * machine sharing the database claims (`FOR UPDATE SKIP LOCKED`). A shard is stored in the transaction that marks it
 * done, so a shard is either wholly in the run or not at all; a running shard whose worker stopped beating (the
 * heartbeat, as for jobs) is claimed again by the next worker that looks. Shards are deleted with their run.
 */
import { and, asc, eq, or, sql } from 'drizzle-orm';
import { dashboardRuns, dashboardShards, jobs } from '@/drizzle/schema';
import type { DashboardTimings, FeatureDashboard, SaeEvals } from '@/compute/dashboards/types';
import { storeFeatureDashboardsIn } from './dashboards';
import { withTransaction, type Db } from './db';
import { workerAlive } from './jobs';

export type ShardRow = typeof dashboardShards.$inferSelect;

/** A done shard's timings: its computation's, and storing its rows. */
export interface ShardTimings extends DashboardTimings {
  storeSeconds: number;
}

export interface ShardPlan {
  /** positions first..first+count−1 in the run's feature list */
  first: number;
  count: number;
  computesEvals: boolean;
}

/**
 * Splits a run's nFeatures into shards of `featuresPerShard`. `evals`: which shards compute the SAE evals — the first
 * ('first'), every one ('every': with ablations, each compares with the clean losses of its own pass), or none (a
 * recompute of some features, which stores no evals). The plan depends on nothing else (not on how many workers
 * there are), so any number of workers computes the same shards and stores the same rows.
 */
export function planShards(nFeatures: number, featuresPerShard: number, evals: 'first' | 'every' | 'none'): ShardPlan[] {
  return Array.from({ length: Math.ceil(nFeatures / featuresPerShard) }, (_, i) => ({
    first: i * featuresPerShard,
    count: Math.min(featuresPerShard, nFeatures - i * featuresPerShard),
    computesEvals: evals === 'every' || (evals === 'first' && i === 0),
  }));
}

/** Records the plan of a running run; each shard starts queued, expected to run 2·nTokens token positions. */
export async function createShards(db: Db, runId: string, plan: ShardPlan[], nTokens: number): Promise<void> {
  await db.insert(dashboardShards).values(plan.map((shard, index) => ({ runId, index, ...shard, tokensTotal: 2 * nTokens })));
}

/** SQL: the run is still being computed, for no job (the command line) or a running one (not cancelled, not failed). */
const runWanted = (runId: string) =>
  sql`exists (select 1 from ${dashboardRuns} r where r.id = ${runId} and r.status = 'running'
               and (r.job_id is null or exists (select 1 from ${jobs} j where j.id = r.job_id and j.status = 'running')))`;

/** Claims the run's next shard for `workerId`: a queued one, or a running one whose worker died (while the run is wanted). */
export async function claimShard(db: Db, runId: string, workerId: string): Promise<ShardRow | undefined> {
  const [row] = await db
    .update(dashboardShards)
    .set({ status: 'running', workerId, tokensDone: 0, tokensPerSecond: 0, phase: null, updatedAt: sql`now()` })
    .where(
      sql`(${dashboardShards.runId}, ${dashboardShards.index}) = (
        select s.run_id, s.index from ${dashboardShards} s
         where s.run_id = ${runId}
           and (s.status = 'queued' or (s.status = 'running' and (s.worker_id is null or not ${workerAlive(sql`s.worker_id`)})))
         order by s.index
         limit 1
         for update skip locked) and ${runWanted(runId)}`,
    )
    .returning();
  return row;
}


/** The shard is still this worker's, and its run still wanted. */
const stillMine = (runId: string, index: number, workerId: string) =>
  and(eq(dashboardShards.runId, runId), eq(dashboardShards.index, index), eq(dashboardShards.workerId, workerId), eq(dashboardShards.status, 'running'), runWanted(runId));

export interface ShardProgress {
  phase: string;
  tokensDone: number;
  tokensTotal: number;
  tokensPerSecond: number;
}

/**
 * Records a shard's progress; false when the worker should stop it: the job was cancelled (or the run abandoned), or
 * the shard was taken over by another worker after this one missed its heartbeats.
 */
export async function reportShard(db: Db, shard: Pick<ShardRow, 'runId' | 'index'>, workerId: string, progress: ShardProgress): Promise<boolean> {
  const rows = await db
    .update(dashboardShards)
    .set({ ...progress, updatedAt: sql`now()` })
    .where(stillMine(shard.runId, shard.index, workerId))
    .returning({ index: dashboardShards.index });
  return rows.length > 0;
}

/**
 * Stores a shard's dashboards into its run and marks it done, in one transaction; false (nothing stored) when the
 * shard is no longer this worker's to finish (see reportShard).
 */
export async function completeShard(
  shard: Pick<ShardRow, 'runId' | 'index'>,
  workerId: string,
  saeId: string,
  result: { features: FeatureDashboard[]; evals: SaeEvals | null; timings: DashboardTimings },
): Promise<boolean> {
  return withTransaction(async (tx) => {
    const [mine] = await tx.select({ index: dashboardShards.index }).from(dashboardShards).where(stillMine(shard.runId, shard.index, workerId)).for('update');
    if (!mine) return false;
    const start = performance.now();
    await storeFeatureDashboardsIn(tx, shard.runId, saeId, result.features);
    const timings: ShardTimings = { ...result.timings, storeSeconds: (performance.now() - start) / 1000 };
    await tx
      .update(dashboardShards)
      .set({ status: 'done', evals: result.evals, timings, tokensDone: sql`${dashboardShards.tokensTotal}`, tokensPerSecond: 0, updatedAt: sql`now()` })
      .where(and(eq(dashboardShards.runId, shard.runId), eq(dashboardShards.index, shard.index)));
    return true;
  });
}

/** A shard that failed (not a lost worker: an error), with the message the job fails with. */
export async function failShard(db: Db, shard: Pick<ShardRow, 'runId' | 'index'>, workerId: string, error: string): Promise<void> {
  await db
    .update(dashboardShards)
    .set({ status: 'failed', error, updatedAt: sql`now()` })
    .where(and(eq(dashboardShards.runId, shard.runId), eq(dashboardShards.index, shard.index), eq(dashboardShards.workerId, workerId)));
}

/** A complete run's shards have nothing more to say (their evals and timings are the run's now). */
export async function dropShards(db: Db, runId: string): Promise<void> {
  await db.delete(dashboardShards).where(eq(dashboardShards.runId, runId));
}

export async function shardsOf(db: Db, runId: string): Promise<ShardRow[]> {
  return db.select().from(dashboardShards).where(eq(dashboardShards.runId, runId)).orderBy(asc(dashboardShards.index));
}

/** Where a run's shards stand, for the job's progress: tokens summed over shards, rates summed over the running ones. */
export interface ShardsSummary {
  done: number;
  total: number;
  running: number;
  /** the workers running them */
  workers: number;
  tokensDone: number;
  tokensTotal: number;
  tokensPerSecond: number;
  etaSeconds: number | null;
  failed?: ShardRow;
}

export function summarizeShards(rows: ShardRow[]): ShardsSummary {
  const running = rows.filter((r) => r.status === 'running');
  const tokensDone = rows.reduce((n, r) => n + r.tokensDone, 0);
  const tokensTotal = rows.reduce((n, r) => n + r.tokensTotal, 0);
  const tokensPerSecond = running.reduce((n, r) => n + r.tokensPerSecond, 0);
  return {
    done: rows.filter((r) => r.status === 'done').length,
    total: rows.length,
    running: running.length,
    workers: new Set(running.map((r) => r.workerId)).size,
    tokensDone,
    tokensTotal,
    tokensPerSecond,
    etaSeconds: tokensPerSecond > 0 ? Math.max(0, tokensTotal - tokensDone) / tokensPerSecond : null,
    failed: rows.find((r) => r.status === 'failed'),
  };
}

/** Runs with a shard that waits for a worker (queued, or its worker died): what an idle worker helps with. */
export async function runsWithOpenShards(db: Db): Promise<string[]> {
  const rows = await db
    .selectDistinct({ runId: dashboardShards.runId })
    .from(dashboardShards)
    .where(or(eq(dashboardShards.status, 'queued'), and(eq(dashboardShards.status, 'running'), sql`not ${workerAlive(dashboardShards.workerId)}`)));
  return rows.map((r) => r.runId);
}
