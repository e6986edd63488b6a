/**
 * Dashboard runs in PostgreSQL. A run's rows are written while it is invisible; the SAE points at
 * its current run, and completing a run swaps that pointer in one transaction, so readers see the
 * old dashboards or the new ones, never a mixture. Cancelling or failing deletes the run's rows.
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { dashboardRuns, featureExamples, features, saes } from '@/drizzle/schema';
import type { ActivationExample, FeatureDashboard, SaeEvals } from '@/workers/dashboards/types';
import { withTransaction, type Db } from './db';

export type DashboardRunRow = typeof dashboardRuns.$inferSelect;

/** Feature rows per multi-row INSERT (examples go in larger batches: they have fewer columns). */
const FEATURE_BATCH = 500;
const EXAMPLE_BATCH = 2000;

export function floatBytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

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
  await withTransaction(async (tx) => {
    const indices = dashboards.map((d) => d.index);
    await tx.delete(features).where(and(eq(features.runId, runId), inArray(features.index, indices)));
    await tx.delete(featureExamples).where(and(eq(featureExamples.runId, runId), inArray(featureExamples.featureIndex, indices)));
    for (let start = 0; start < dashboards.length; start += FEATURE_BATCH) {
      await tx.insert(features).values(
        dashboards.slice(start, start + FEATURE_BATCH).map((d) => ({
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
        })),
      );
    }
    const examples = dashboards.flatMap((d) => [
      ...d.topExamples.map((e, rank) => exampleRow(runId, d.index, 'top', -1, rank, e, d.topExampleAblation?.[rank]?.lossDelta)),
      ...d.randomExamples.map((e, rank) => exampleRow(runId, d.index, 'random', -1, rank, e)),
      ...d.intervals.flatMap((interval, i) =>
        interval.examples.map((e, rank) => ({ ...exampleRow(runId, d.index, 'interval', i, rank, e), position: e.position })),
      ),
    ]);
    for (let start = 0; start < examples.length; start += EXAMPLE_BATCH) {
      await tx.insert(featureExamples).values(examples.slice(start, start + EXAMPLE_BATCH));
    }
  });
}

function exampleRow(
  runId: string,
  featureIndex: number,
  kind: 'top' | 'interval' | 'random',
  interval: number,
  rank: number,
  e: ActivationExample,
  lossDelta?: Float32Array,
) {
  return {
    runId,
    featureIndex,
    kind,
    interval,
    rank,
    contextIndex: e.contextIndex,
    maxAct: e.maxAct,
    maxPos: e.maxPos,
    maxToken: e.tokens[e.maxPos] ?? null,
    acts: floatBytes(e.acts),
    lossDelta: lossDelta ? floatBytes(lossDelta) : null,
  };
}

/**
 * Completes a run. A run over all features becomes the SAE's current run, and older runs go.
 * A run over some features replaces just those features in the current run.
 */
export async function completeRun(
  runId: string,
  outcome: { evals: Omit<SaeEvals, 'firingCounts'> | null; timings: object; nTokens: number; subset: boolean },
): Promise<void> {
  await withTransaction(async (tx) => {
    const [run] = await tx
      .update(dashboardRuns)
      .set({ status: 'complete', evals: outcome.evals, timings: outcome.timings, nTokens: outcome.nTokens, completedAt: new Date() })
      .where(eq(dashboardRuns.id, runId))
      .returning();
    if (!run) throw new Error(`dashboard run ${runId} no longer exists (cancelled?)`);
    // Serialise completions per SAE, so two finishing runs cannot both become current.
    const [sae] = await tx.select().from(saes).where(eq(saes.id, run.saeId)).for('update');
    if (outcome.subset && sae!.currentRunId) {
      const current = sae!.currentRunId;
      const moved = tx.select({ index: features.index }).from(features).where(eq(features.runId, runId));
      await tx.delete(features).where(and(eq(features.runId, current), inArray(features.index, moved)));
      await tx.delete(featureExamples).where(and(eq(featureExamples.runId, current), inArray(featureExamples.featureIndex, moved)));
      await tx.update(features).set({ runId: current }).where(eq(features.runId, runId));
      await tx.update(featureExamples).set({ runId: current }).where(eq(featureExamples.runId, runId));
      await tx.delete(dashboardRuns).where(eq(dashboardRuns.id, runId));
      return;
    }
    await tx.update(saes).set({ currentRunId: runId }).where(eq(saes.id, run.saeId));
    await tx
      .delete(dashboardRuns)
      .where(and(eq(dashboardRuns.saeId, run.saeId), ne(dashboardRuns.id, runId), ne(dashboardRuns.status, 'running')));
  });
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
