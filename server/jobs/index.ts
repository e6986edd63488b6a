/** The job record's lifecycle: enqueue (web), then running → done | failed (worker). */
import { and, desc, eq, inArray, isNull, not, or, sql, type AnyColumn } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { jobs, workers } from '@/drizzle/schema';
import type { Db } from '../db';
import { withTransaction } from '../db';
import { jobParams, type JobParams, type JobType } from './types';

export type JobRow = typeof jobs.$inferSelect;

export async function enqueueJob<T extends JobType>(
  boss: PgBoss,
  job: { type: T; params: JobParams<T>; userId: string | null; modelId: string | null },
): Promise<JobRow> {
  const params = jobParams[job.type].parse(job.params);
  const id = crypto.randomUUID();
  return withTransaction(async (tx, client) => {
    const [row] = await tx
      .insert(jobs)
      .values({ id, type: job.type, params, userId: job.userId, modelId: job.modelId })
      .returning();
    // Same client, same transaction: the queue never holds a job whose record is missing.
    await boss.send(job.type, { jobId: id }, { id, db: { executeSql: (text, values) => client.query(text, values) } });
    return row!;
  });
}

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.query.jobs.findFirst({ where: eq(jobs.id, id) });
}

export async function recentJobs(db: Db, filter: { modelId: string; type?: JobType; limit?: number }): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.modelId, filter.modelId), filter.type ? eq(jobs.type, filter.type) : undefined))
    .orderBy(desc(jobs.createdAt))
    .limit(filter.limit ?? 10);
}

/** A worker that has not beaten for this long is taken for dead, and its jobs for orphans. */
export const WORKER_TIMEOUT_SECONDS = 30;

const workerAlive = (workerId: AnyColumn) =>
  sql`exists (select 1 from ${workers} where ${workers.id} = ${workerId} and ${workers.lastSeen} > now() - make_interval(secs => ${WORKER_TIMEOUT_SECONDS}))`;

/**
 * Claims a job for `workerId`: a queued one, or a running one whose worker died. Undefined when it
 * was cancelled, finished, or is being run by a live worker (a duplicate delivery).
 */
export async function markRunning(db: Db, id: string, workerId: string): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ status: 'running', workerId, startedAt: new Date(), error: null })
    .where(
      and(
        eq(jobs.id, id),
        or(eq(jobs.status, 'queued'), and(eq(jobs.status, 'running'), or(isNull(jobs.workerId), not(workerAlive(jobs.workerId))))),
      ),
    )
    .returning();
  return row;
}

/** Running jobs whose worker stopped beating: to be queued again. */
export async function orphanedJobs(db: Db): Promise<Pick<JobRow, 'id' | 'type'>[]> {
  return db
    .select({ id: jobs.id, type: jobs.type })
    .from(jobs)
    .where(and(eq(jobs.status, 'running'), or(isNull(jobs.workerId), not(workerAlive(jobs.workerId)))));
}

/** Progress of a running job; false when it is no longer running (cancelled), so the worker stops. */
export async function markProgress(db: Db, id: string, progress: number, detail?: unknown): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ progress, progressDetail: detail ?? null })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'running')))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function markDone(db: Db, id: string, result: unknown, provenance: unknown): Promise<void> {
  await db
    .update(jobs)
    .set({ status: 'done', progress: 1, result, provenance, finishedAt: new Date() })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'running')));
}

export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  await db
    .update(jobs)
    .set({ status: 'failed', error, finishedAt: new Date() })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'running')));
}

/** Cancels a queued or running job; a running one stops at its next progress report. */
export async function cancelJob(db: Db, id: string): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ status: 'cancelled', finishedAt: new Date() })
    .where(and(eq(jobs.id, id), inArray(jobs.status, ['queued', 'running'])))
    .returning();
  return row;
}
