/**
 * The shards of a dashboard run, that any worker on any machine sharing the database claims (`FOR UPDATE SKIP LOCKED`):
 * ranges of its features, each a pass over the whole corpus, and ranges of the corpus for the SAE evals' two passes.
 * A shard is stored in the transaction that marks it done, so a shard is either wholly in the run or not at all; a
 * running shard whose worker stopped beating (the heartbeat, as for jobs) is claimed again by the next worker that
 * looks. Shards are deleted with their run.
 *
 * Workers hear of shards to claim on the event channel (server/events.ts, topic SHARDS_TOPIC, the run's id): each
 * change that may let a worker start one (shards created, an evals shard done, a worker leaving its shards) or end the
 * run (a shard done or failed) is published in its transaction, so idle workers start at once rather than at their
 * next look (watchShards).
 */
import { and, asc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { dashboardRuns, dashboardShards, jobs } from '@/drizzle/schema';
import type { ContextRange } from '@/compute/dashboards/compute';
import { TOP_K } from '@/compute/dashboards/defaults';
import type { EvalSums } from '@/compute/dashboards/evals';
import { ablationTokensEstimate } from '@/compute/dashboards/shard-size';
import type { DashboardTimings, FeatureDashboard } from '@/compute/dashboards/types';
import { storeFeatureDashboardsIn } from './dashboards';
import { withTransaction, type Db } from './db';
import { eventHub, publish, SHARDS_TOPIC } from './events';
import { workerAlive } from './jobs';

/** A shard as progress, claims and timings read it: without its eval sums and part, which only their merges read (evalSumsOf, partsOf). */
export type ShardRow = Omit<typeof dashboardShards.$inferSelect, 'evals' | 'part'>;
export type ShardKind = ShardRow['kind'];

/** A done shard's timings: its computation's, and storing its rows. */
export interface ShardTimings extends DashboardTimings {
  storeSeconds: number;
}

export interface ShardPlan {
  kind: ShardKind;
  /** positions first..first+count−1 in the run's feature list (none for the evals) */
  first: number;
  count: number;
  /** contexts contextFirst..contextFirst+contextCount−1 of the corpus */
  contextFirst: number;
  contextCount: number;
  /** token positions it runs through the model, until its computation says more exactly */
  tokensTotal: number;
}

/**
 * Splits a run into shards: its `nFeatures` features in ranges of `featuresPerShard`, each range in a 'statistics'
 * shard per range of `corpusRanges` (pass 1), an 'examples' shard per range (pass 2, once every statistics shard of its
 * features is done) and a 'features' shard (their parts merged, the weights, the ablations: once every examples shard
 * of its features is done); and, unless `evalRanges` is 0 (a recompute of some features stores no evals), the corpus
 * in `evalRanges` ranges (at most one per context) for each of the evals' two passes. Shards are claimed in plan order
 * among those that may start: the evals' first passes, the longest, first, so that none of them starts last and holds
 * up the end; then the features' passes; then the mean-ablated passes, which wait for the corpus mean the first ones
 * measure; then the merges, which wait for their passes. The plan depends on nothing else (not on how many workers
 * there are), so any number of workers computes the same shards, merges their parts in the same order and stores the
 * same rows.
 */
export function planShards(
  contexts: number[][],
  nFeatures: number,
  featuresPerShard: number,
  corpusRanges: ContextRange[],
  evalRanges: number,
  { ablateTopExamples = false } = {},
): ShardPlan[] {
  const tokens = (first: number, count: number) => contexts.slice(first, first + count).reduce((n, context) => n + context.length, 0);
  const ranges = Math.min(evalRanges, contexts.length);
  const evals = (kind: ShardKind) =>
    Array.from({ length: ranges }, (_, i): ShardPlan => {
      const contextFirst = Math.floor((i * contexts.length) / ranges);
      const contextCount = Math.floor(((i + 1) * contexts.length) / ranges) - contextFirst;
      return { kind, first: 0, count: 0, contextFirst, contextCount, tokensTotal: tokens(contextFirst, contextCount) };
    });
  const featureRanges = Array.from({ length: Math.ceil(nFeatures / featuresPerShard) }, (_, i) => ({
    first: i * featuresPerShard,
    count: Math.min(featuresPerShard, nFeatures - i * featuresPerShard),
  }));
  const passes = (kind: ShardKind) =>
    featureRanges.flatMap((features) =>
      corpusRanges.map(({ first, count }): ShardPlan => ({ kind, ...features, contextFirst: first, contextCount: count, tokensTotal: tokens(first, count) })),
    );
  // a merge runs no corpus tokens, but the ablations of its top examples
  const merges = featureRanges.map((features): ShardPlan => ({
    kind: 'features',
    ...features,
    contextFirst: 0,
    contextCount: contexts.length,
    tokensTotal: ablateTopExamples ? ablationTokensEstimate(features.count, TOP_K, contexts) : 0,
  }));
  return [...evals('evals'), ...passes('statistics'), ...passes('examples'), ...evals('mean-ablation'), ...merges];
}

/** Announces, at commit when `db` is a transaction, that the run's shards changed. */
const announce = (db: Db, runId: string) => publish(db, { topic: SHARDS_TOPIC, type: 'shards', id: runId });

/**
 * Calls `onChange` when a run's shards change (its id), or when changes may have been missed (no id: the event
 * connection came back after a loss); returns the unsubscribe function. Only while this process listens
 * (eventHub().ready(): a worker does, an in-process job need not).
 */
export function watchShards(onChange: (runId?: string) => void): () => void {
  return eventHub().subscribe(SHARDS_TOPIC, (event) => onChange(event.type === 'shards' ? event.id : undefined));
}

/** Records the plan of a running run, each shard queued, and announces it to the workers. */
export async function createShards(db: Db, runId: string, plan: ShardPlan[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(dashboardShards).values(plan.map((shard, index) => ({ runId, index, ...shard })));
    await announce(tx, runId);
  });
}

/** SQL: the run is still being computed, for no job (the command line) or a running one (not cancelled, not failed). */
const runWanted = (runId: string) =>
  sql`exists (select 1 from ${dashboardRuns} r where r.id = ${runId} and r.status = 'running'
               and (r.job_id is null or exists (select 1 from ${jobs} j where j.id = r.job_id and j.status = 'running')))`;

/**
 * SQL over the shard `s`: it waits for a worker (queued, or running on a worker that died), and may start: no shard it
 * waits for is still to be done (a mean-ablation shard waits for every evals shard of its run, an examples shard for
 * the statistics shards of its features, a features shard for their statistics and examples shards).
 */
const claimable = sql`(s.status = 'queued' or (s.status = 'running' and (s.worker_id is null or not ${workerAlive(sql`s.worker_id`)})))
  and not exists (select 1 from ${dashboardShards} w where w.run_id = s.run_id and w.status <> 'done'
                   and ((s.kind = 'mean-ablation' and w.kind = 'evals')
                        or (s.kind = 'examples' and w.kind = 'statistics' and w.first = s.first)
                        or (s.kind = 'features' and w.kind in ('statistics', 'examples') and w.first = s.first)))`;

/** Claims the run's next claimable shard for `workerId`, while the run is wanted. */
export async function claimShard(db: Db, runId: string, workerId: string): Promise<ShardRow | undefined> {
  const [row] = await db
    .update(dashboardShards)
    .set({ status: 'running', workerId, tokensDone: 0, tokensPerSecond: 0, phase: null, startedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      sql`(${dashboardShards.runId}, ${dashboardShards.index}) = (
        select s.run_id, s.index from ${dashboardShards} s
         where s.run_id = ${runId} and ${claimable}
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

/** What a shard computed: its features' dashboards, its range's eval sums, or its range's part of a pass (parts.ts). */
export interface ShardResult {
  features: FeatureDashboard[];
  evals: EvalSums | null;
  part?: Buffer;
  timings: DashboardTimings;
}

/**
 * Stores a shard's dashboards into its run and its eval sums into its row, and marks it done, in one transaction;
 * false (nothing stored) when the shard is no longer this worker's to finish (see reportShard).
 */
export async function completeShard(shard: Pick<ShardRow, 'runId' | 'index'>, workerId: string, saeId: string, result: ShardResult): Promise<boolean> {
  return withTransaction(async (tx, client) => {
    const [mine] = await tx.select({ index: dashboardShards.index }).from(dashboardShards).where(stillMine(shard.runId, shard.index, workerId)).for('update');
    if (!mine) return false;
    const start = performance.now();
    await storeFeatureDashboardsIn(tx, client, shard.runId, saeId, result.features);
    const timings: ShardTimings = { ...result.timings, storeSeconds: (performance.now() - start) / 1000 };
    await tx
      .update(dashboardShards)
      .set({ status: 'done', evals: result.evals, part: result.part ?? null, timings, tokensDone: sql`${dashboardShards.tokensTotal}`, tokensPerSecond: 0, updatedAt: sql`now()` })
      .where(and(eq(dashboardShards.runId, shard.runId), eq(dashboardShards.index, shard.index)));
    // the job's worker may complete the run, or another worker start a mean-ablation shard
    await announce(tx, shard.runId);
    return true;
  });
}

/** A shard that failed (not a lost worker: an error), with the message the job fails with. */
export async function failShard(db: Db, shard: Pick<ShardRow, 'runId' | 'index'>, workerId: string, error: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .update(dashboardShards)
      .set({ status: 'failed', error, updatedAt: sql`now()` })
      .where(and(eq(dashboardShards.runId, shard.runId), eq(dashboardShards.index, shard.index), eq(dashboardShards.workerId, workerId)));
    await announce(tx, shard.runId);
  });
}

/**
 * A worker leaving (its heartbeat row deleted in `tx`): its running shards are claimable from the commit on, and the
 * workers hear of it then. A worker that dies without a word is found by the others' next look instead.
 */
export async function announceShardsLeftBy(tx: Db, workerId: string): Promise<void> {
  const runs = await tx
    .selectDistinct({ runId: dashboardShards.runId })
    .from(dashboardShards)
    .where(and(eq(dashboardShards.workerId, workerId), eq(dashboardShards.status, 'running')));
  for (const { runId } of runs) await announce(tx, runId);
}

/** A complete run's shards have nothing more to say (their merged evals and their timings are the run's now). */
export async function dropShards(db: Db, runId: string): Promise<void> {
  await db.delete(dashboardShards).where(eq(dashboardShards.runId, runId));
}

/** Every column but the eval sums and parts (a large SAE's are megabytes a shard: the job's progress reads these every second). */
const { evals: _evals, part: _part, ...shardColumns } = getTableColumns(dashboardShards);

export async function shardsOf(db: Db, runId: string): Promise<ShardRow[]> {
  return db.select(shardColumns).from(dashboardShards).where(eq(dashboardShards.runId, runId)).orderBy(asc(dashboardShards.index));
}

/**
 * The eval sums of the run's shards of these kinds, in shard order: the order they merge in, the same whichever workers
 * computed them, so the same evals. Every one of them must be done.
 */
export async function evalSumsOf(db: Db, runId: string, kinds: ShardKind[]): Promise<EvalSums[]> {
  const rows = await db
    .select({ index: dashboardShards.index, status: dashboardShards.status, evals: dashboardShards.evals })
    .from(dashboardShards)
    .where(and(eq(dashboardShards.runId, runId), inArray(dashboardShards.kind, kinds)))
    .orderBy(asc(dashboardShards.index));
  const pending = rows.find((row) => row.status !== 'done' || !row.evals);
  if (pending) throw new Error(`the evals of shard ${pending.index + 1} are not done`);
  return rows.map((row) => row.evals as EvalSums);
}

/**
 * The parts of the passes of kind `kind` over the features from position `first`, in shard order (corpus order). Every
 * one of them must be done.
 */
export async function partsOf(db: Db, runId: string, kind: 'statistics' | 'examples', first: number): Promise<Buffer[]> {
  const rows = await db
    .select({ index: dashboardShards.index, status: dashboardShards.status, part: dashboardShards.part })
    .from(dashboardShards)
    .where(and(eq(dashboardShards.runId, runId), eq(dashboardShards.kind, kind), eq(dashboardShards.first, first)))
    .orderBy(asc(dashboardShards.index));
  if (rows.length === 0) throw new Error(`the run has no ${kind} shards for the features from position ${first}`);
  const pending = rows.find((row) => row.status !== 'done' || !row.part);
  if (pending) throw new Error(`the ${kind} of shard ${pending.index + 1} are not done`);
  return rows.map((row) => row.part!);
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

/** Runs with a shard that waits for a worker and may start: what an idle worker helps with. */
export async function runsWithOpenShards(db: Db): Promise<string[]> {
  const { rows } = await db.execute<{ run_id: string }>(sql`select distinct s.run_id from ${dashboardShards} s where ${claimable}`);
  return rows.map((r) => r.run_id);
}
