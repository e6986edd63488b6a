/**
 * Dashboard runs in PostgreSQL. A run's rows are written while it is invisible; the SAE points at
 * its current run, and completing a run swaps that pointer in one transaction, so readers see the
 * old dashboards or the new ones, never a mixture. Cancelling or failing deletes the run's rows.
 *
 * An SAE keeps its latest complete run per corpus (a new run over the same corpus replaces the older one), so a run
 * over another corpus does not throw the earlier dashboards away: maintainers switch the current run back and forth
 * (setCurrentRun). A run over far fewer tokens than the current one (FAR_FEWER times fewer) is kept beside it but not
 * made current: densities measured over a few hundred tokens would make most features look dead.
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { dashboardRuns, featureExamples, features, saes } from '@/drizzle/schema';
import type { ActivationExample, FeatureDashboard, SaeEvals } from '@/compute/dashboards/types';
import type pg from 'pg';
import { withTransaction, type Db } from './db';
import { notFound } from './errors';
import { BinaryRows, uuidBytes } from './exchange/copy-binary';
import { replaceNeighbourSets, type NeighbourSet } from './similar-features';

export type DashboardRunRow = typeof dashboardRuns.$inferSelect;

/** Feature rows per multi-row INSERT; examples per binary COPY (a GPT-2 SAE's shard holds hundreds of MB of them). */
const FEATURE_BATCH = 500;
const EXAMPLE_BATCH = 5000;
/** Where a binary COPY of examples goes (BinaryRows, one row of these 12 fields per example). */
export const EXAMPLE_COPY_TARGET =
  'feature_example (run_id, feature_index, kind, interval, rank, context_index, position, max_act, max_pos, acts, loss_delta, max_token)';

export function bytesToFloats(bytes: Buffer): Float32Array {
  // Copy: a Buffer from the driver may sit at an offset not aligned to 4 bytes.
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** Starts a run. A retried job (its worker crashed) first drops what its earlier attempt wrote. */
export async function beginRun(
  db: Db,
  run: { saeId: string; corpusId: string; jobId: string | null; params: object },
): Promise<DashboardRunRow> {
  return withTransaction(async (tx) => {
    if (run.jobId) await tx.delete(dashboardRuns).where(and(eq(dashboardRuns.jobId, run.jobId), ne(dashboardRuns.status, 'complete')));
    const [row] = await tx.insert(dashboardRuns).values(run).returning();
    return row!;
  });
}

/** Writes the dashboards of some features into a running run (idempotent per feature). */
export async function storeFeatureDashboards(db: Db, runId: string, saeId: string, dashboards: FeatureDashboard[]): Promise<void> {
  await withTransaction((tx, client) => storeFeatureDashboardsIn(tx, client, runId, saeId, dashboards));
}

/**
 * storeFeatureDashboards inside the caller's transaction (`client` is its connection; a shard stores its rows and
 * says it is done in one). The examples, most of the bytes, go in by binary COPY: no multi-row INSERT's parameters
 * to encode and parse.
 */
export async function storeFeatureDashboardsIn(tx: Db, client: pg.PoolClient, runId: string, saeId: string, dashboards: FeatureDashboard[]): Promise<void> {
  const indices = dashboards.map((d) => d.index);
  await tx.delete(features).where(and(eq(features.runId, runId), inArray(features.index, indices)));
  await tx.delete(featureExamples).where(and(eq(featureExamples.runId, runId), inArray(featureExamples.featureIndex, indices)));
  for (let start = 0; start < dashboards.length; start += FEATURE_BATCH) {
    await tx.insert(features).values(dashboards.slice(start, start + FEATURE_BATCH).map((d) => featureRow(runId, saeId, d)));
  }
  const run = uuidBytes(runId);
  const rows = new BinaryRows();
  let queued = 0;
  /** one example's row, its fields in EXAMPLE_COPY_TARGET's order */
  const example = (feature: number, kind: 'top' | 'interval' | 'random', interval: number, rank: number, e: ActivationExample, position?: number, lossDelta?: Float32Array) => {
    rows.row(12).bytes(run).int4(feature).text(kind).int2(interval).int2(rank).int4(e.contextIndex);
    if (position === undefined) rows.null();
    else rows.int4(position);
    rows.float4(e.maxAct).int4(e.maxPos).float32Bytes(e.acts);
    if (lossDelta) rows.float32Bytes(lossDelta);
    else rows.null();
    const maxToken = e.tokens[e.maxPos];
    if (maxToken === undefined) rows.null();
    else rows.int4(maxToken);
    queued++;
  };
  for (const d of dashboards) {
    d.topExamples.forEach((e, rank) => example(d.index, 'top', -1, rank, e, undefined, d.topExampleAblation?.[rank]?.lossDelta));
    d.randomExamples.forEach((e, rank) => example(d.index, 'random', -1, rank, e));
    d.intervals.forEach((interval, i) => interval.examples.forEach((e, rank) => example(d.index, 'interval', i, rank, e, e.position)));
    if (queued >= EXAMPLE_BATCH) {
      await rows.copyInto(client, EXAMPLE_COPY_TARGET);
      rows.reset();
      queued = 0;
    }
  }
  if (queued > 0) await rows.copyInto(client, EXAMPLE_COPY_TARGET);
}

/** A feature's row: its statistics, histograms and logit weights, and its intervals without their examples. */
export function featureRow(
  runId: string,
  saeId: string,
  d: Omit<FeatureDashboard, 'topExamples' | 'randomExamples' | 'topExampleAblation' | 'intervals' | 'bosCount'> & {
    intervals: { lo: number; hi: number; count: number }[];
    /** null: not known (an import) */
    bosCount: number | null;
  },
) {
  return {
    runId,
    saeId,
    index: d.index,
    nTokens: d.nTokens,
    nonzeroCount: d.nonzeroCount,
    bosCount: d.bosCount,
    bosExcluded: d.bosExcluded,
    density: d.density,
    maxAct: d.maxAct,
    meanAct: d.meanAct,
    meanActAll: d.meanActAll,
    histogram: d.histogram,
    intervals: d.intervals.map(({ lo, hi, count }) => ({ lo, hi, count })),
    logitTop: d.logitWeights.top,
    logitBottom: d.logitWeights.bottom,
    logitFoldLn: d.logitFoldLn,
    logitHistogram: d.logitHistogram,
    encoderBias: d.encoderBias,
    encoderNorm: d.encoderNorm,
    decoderNorm: d.decoderNorm,
    deDot: d.deDot,
    deCos: d.deCos,
  };
}

/** A run over this many times fewer tokens than the current one does not replace it by itself. */
export const FAR_FEWER = 10;

export interface RunCompletion {
  /** the run is now the SAE's current one (a subset run: its features were merged into the current run) */
  current: boolean;
  /** when it was not made current: the tokens of the current run it did not replace */
  keptCurrentTokens?: number;
}

/**
 * Completes a run. A run over all features becomes the SAE's current run (unless it is over far fewer tokens than
 * the current one), and an older run over the same corpus goes. A run over some features replaces just those
 * features in the current run. A whole-SAE run's similar-feature sets replace the earlier ones, whether or not it becomes
 * current (they come from the weights alone).
 */
export async function completeRun(runId: string, outcome: RunOutcome): Promise<RunCompletion> {
  return withTransaction((tx) => completeRunIn(tx, runId, outcome));
}

export interface RunOutcome {
  evals: Omit<SaeEvals, 'firingCounts'> | null;
  timings: object;
  nTokens: number;
  subset: boolean;
  /** becomes current whatever its token count (an import someone asked for) */
  replaceCurrent?: boolean;
  /** the SAE's nearest-feature sets, computed from its weights (whole-SAE runs) */
  similar?: NeighbourSet[];
}

/** completeRun inside the caller's transaction (an import writes its rows and completes in one). */
export async function completeRunIn(tx: Db, runId: string, outcome: RunOutcome): Promise<RunCompletion> {
  const [run] = await tx
    .update(dashboardRuns)
    .set({ status: 'complete', evals: outcome.evals, timings: outcome.timings, nTokens: outcome.nTokens, completedAt: new Date() })
    .where(eq(dashboardRuns.id, runId))
    .returning();
  if (!run) throw new Error(`dashboard run ${runId} no longer exists (cancelled?)`);
  // Serialise completions per SAE, so two finishing runs cannot both become current.
  const [sae] = await tx.select().from(saes).where(eq(saes.id, run.saeId)).for('update');
  if (outcome.similar) await replaceNeighbourSets(tx, outcome.similar);
  if (outcome.subset && sae!.currentRunId) {
    const current = sae!.currentRunId;
    const moved = tx.select({ index: features.index }).from(features).where(eq(features.runId, runId));
    await tx.delete(features).where(and(eq(features.runId, current), inArray(features.index, moved)));
    await tx.delete(featureExamples).where(and(eq(featureExamples.runId, current), inArray(featureExamples.featureIndex, moved)));
    await tx.update(features).set({ runId: current }).where(eq(features.runId, runId));
    await tx.update(featureExamples).set({ runId: current }).where(eq(featureExamples.runId, runId));
    await tx.delete(dashboardRuns).where(eq(dashboardRuns.id, runId));
    return { current: true };
  }
  const [current] = sae!.currentRunId
    ? await tx.select({ id: dashboardRuns.id, nTokens: dashboardRuns.nTokens }).from(dashboardRuns).where(eq(dashboardRuns.id, sae!.currentRunId))
    : [];
  const makeCurrent = outcome.replaceCurrent || !current?.nTokens || outcome.nTokens * FAR_FEWER > current.nTokens;
  if (makeCurrent) await tx.update(saes).set({ currentRunId: runId }).where(eq(saes.id, run.saeId));
  const currentId = makeCurrent ? runId : current!.id;
  // the older complete runs over the same corpus are superseded by this one (never the current run)
  await tx
    .delete(dashboardRuns)
    .where(
      and(
        eq(dashboardRuns.saeId, run.saeId),
        eq(dashboardRuns.corpusId, run.corpusId),
        ne(dashboardRuns.id, runId),
        ne(dashboardRuns.id, currentId),
        ne(dashboardRuns.status, 'running'),
      ),
    );
  return makeCurrent ? { current: true } : { current: false, keptCurrentTokens: current!.nTokens! };
}

export interface DashboardRunSummary {
  id: string;
  current: boolean;
  corpus: { id: string; name: string };
  nTokens: number;
  completedAt: Date;
  /** the fraction of features that never fired in it (from its evals) */
  deadFraction: number | null;
}

/** The SAE's complete runs, newest first, with their corpus and token count and which is current. */
export async function dashboardRunsOf(db: Db, saeId: string): Promise<DashboardRunSummary[]> {
  const { rows } = await db.execute<{ id: string; current: boolean; corpus_id: string; corpus_name: string; n_tokens: string; completed_at: string; dead: number | null }>(sql`
    select r.id, r.id = s.current_run_id as current, c.id as corpus_id, c.name as corpus_name, r.n_tokens, r.completed_at,
           (r.evals ->> 'deadFraction')::float8 as dead
      from dashboard_run r
      join sae s on s.id = r.sae_id
      join corpus c on c.id = r.corpus_id
     where r.sae_id = ${saeId} and r.status = 'complete'
     order by r.completed_at desc, r.id`);
  return rows.map((r) => ({
    id: r.id,
    current: r.current,
    corpus: { id: r.corpus_id, name: r.corpus_name },
    nTokens: Number(r.n_tokens),
    completedAt: new Date(r.completed_at),
    deadFraction: r.dead,
  }));
}

/** Makes one of the SAE's complete runs its current one (a maintainer switching back to an earlier corpus). */
export async function setCurrentRun(db: Db, saeId: string, runId: string): Promise<void> {
  const switched = await db
    .update(saes)
    .set({ currentRunId: runId })
    .where(
      and(
        eq(saes.id, saeId),
        sql`exists (select 1 from ${dashboardRuns} where ${dashboardRuns.id} = ${runId} and ${dashboardRuns.saeId} = ${saeId} and ${dashboardRuns.status} = 'complete')`,
      ),
    )
    .returning({ id: saes.id });
  if (switched.length === 0) throw notFound('no such complete dashboard run of this SAE');
}
/** A cancelled or failed run leaves nothing behind; the current dashboards stay as they were. */
export async function abandonRun(db: Db, runId: string): Promise<void> {
  await db.delete(dashboardRuns).where(eq(dashboardRuns.id, runId));
}

/**
 * Counts for tests and the SAE overview: features and examples in the current run. One statement, so one snapshot:
 * a run completing meanwhile (which swaps the pointer and deletes the old run) is seen entirely or not at all.
 */
export async function currentRunCounts(db: Db, saeId: string): Promise<{ runId: string | null; features: number; examples: number }> {
  const { rows } = await db.execute<{ runId: string | null; features: number; examples: number }>(sql`
    select ${saes.currentRunId} as "runId",
      (select count(*)::int from ${features} where ${features.runId} = ${saes.currentRunId}) as "features",
      (select count(*)::int from ${featureExamples} where ${featureExamples.runId} = ${saes.currentRunId}) as "examples"
    from ${saes} where ${saes.id} = ${saeId}`);
  const row = rows[0];
  return row?.runId ? { runId: row.runId, features: row.features, examples: row.examples } : { runId: null, features: 0, examples: 0 };
}
