/** The job record's lifecycle: enqueue (web), then running → done | failed (worker). */
import { and, desc, eq, inArray, isNull, not, or, sql, type AnyColumn } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { jobs, workers } from '@/drizzle/schema';
import type { Db } from '../db';
import { withTransaction } from '../db';
import { jobParams, type JobParams, type JobType } from './types';
import { notifyJob } from './queue';

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
    await notifyJob(client, job.type); // wakes an idle worker at commit, instead of at its next poll
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

/**
 * A worker that has not beaten for this long is taken for dead, and its jobs for orphans (LEXICON_WORKER_TIMEOUT_S,
 * default 30; workers beat at a third of it, at most every 5 s). Every worker and web process should agree on it.
 */
export const WORKER_TIMEOUT_SECONDS = workerTimeoutSeconds();

function workerTimeoutSeconds(): number {
  const raw = process.env.LEXICON_WORKER_TIMEOUT_S;
  if (raw === undefined || raw.trim() === '') return 30;
  const value = Number(raw);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`LEXICON_WORKER_TIMEOUT_S must be a positive number of seconds, got "${raw}"`);
  return value;
}

/** How often a worker beats: well inside the timeout. */
export const HEARTBEAT_MS = Math.min(5_000, (WORKER_TIMEOUT_SECONDS * 1000) / 3);
/** How often a worker looks for orphaned jobs. */
export const ORPHAN_SWEEP_MS = Math.min(10_000, WORKER_TIMEOUT_SECONDS * 1000);

/** Workers that beat within the timeout. */
export async function liveWorkerCount(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(workers)
    .where(sql`${workers.lastSeen} > now() - make_interval(secs => ${WORKER_TIMEOUT_SECONDS})`);
  return row?.n ?? 0;
}

/** The newest job of a type (any status), e.g. the demo for the home page. */
export async function latestJob(db: Db, type: JobType): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.type, type)).orderBy(desc(jobs.createdAt)).limit(1);
  return row;
}

/** Queued and running jobs, newest first. */
export async function activeJobs(db: Db, filter: { type?: JobType; limit?: number } = {}): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.status, ['queued', 'running']), filter.type ? eq(jobs.type, filter.type) : undefined))
    .orderBy(desc(jobs.createdAt))
    .limit(filter.limit ?? 20);
}

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
