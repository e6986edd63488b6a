/** The job record's lifecycle: enqueue (web), then running → done | failed (worker). */
import { and, desc, eq, inArray } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { jobs } from '@/drizzle/schema';
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

/** Claims a job for running; undefined when it was cancelled or already finished. */
export async function markRunning(db: Db, id: string): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ status: 'running', startedAt: new Date(), error: null })
    .where(and(eq(jobs.id, id), inArray(jobs.status, ['queued', 'running'])))
    .returning();
  return row;
}

export async function markProgress(db: Db, id: string, progress: number): Promise<void> {
  await db.update(jobs).set({ progress }).where(and(eq(jobs.id, id), eq(jobs.status, 'running')));
}

export async function markDone(db: Db, id: string, result: unknown, provenance: unknown): Promise<void> {
  await db
    .update(jobs)
    .set({ status: 'done', progress: 1, result, provenance, finishedAt: new Date() })
    .where(eq(jobs.id, id));
}

export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  await db.update(jobs).set({ status: 'failed', error, finishedAt: new Date() }).where(eq(jobs.id, id));
}
