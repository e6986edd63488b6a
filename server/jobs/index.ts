/** The job record's lifecycle: enqueue (web), then running → done | failed (worker). */
import { and, desc, eq, inArray, isNull, not, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type PgBoss from 'pg-boss';
import { jobs, workers } from '@/drizzle/schema';
import { maySeeJobContents, visibleModelSql, visibleSaeSql, type Viewer } from '../authz';
import type { Db } from '../db';
import { withTransaction } from '../db';
import { jobKinds, type JobParams, type JobType } from '@/jobs';
import { featureTopic, publish, saeTopic } from '../events';
import { notifyFeatureWatchers, notifySaeWatchers } from '../notifications';
import { checkJobRate } from '../rate-limit';
import { notifyJob } from './queue';

export type JobRow = typeof jobs.$inferSelect;

/**
 * Enqueues a job; `options.requestedBy` (a signed-in user asking through the API) counts it against their rate limit,
 * and `options.alongside` writes what refers to the job in the same transaction (so neither exists without the other).
 */
export async function enqueueJob<T extends JobType>(
  boss: PgBoss,
  job: { type: T; params: JobParams<T>; userId: string | null; modelId: string | null },
  options: { requestedBy?: NonNullable<Viewer>; alongside?: (tx: Db, job: JobRow) => Promise<void> } = {},
): Promise<JobRow> {
  const params = jobKinds[job.type].params.parse(job.params);
  const id = crypto.randomUUID();
  return withTransaction(async (tx, client) => {
    if (options.requestedBy) await checkJobRate(tx, options.requestedBy);
    const [row] = await tx
      .insert(jobs)
      .values({ id, type: job.type, params, userId: job.userId, modelId: job.modelId })
      .returning();
    // Same client, same transaction: the queue never holds a job whose record is missing.
    await boss.send(job.type, { jobId: id }, { id, db: { executeSql: (text, values) => client.query(text, values) } });
    await notifyJob(client, job.type); // wakes an idle worker at commit, instead of at its next poll
    await options.alongside?.(tx, row!);
    return row!;
  });
}

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.query.jobs.findFirst({ where: eq(jobs.id, id) });
}

/** A WHERE condition: `viewer` may see the model and the SAE (params.saeId) a job is for (jobs for neither: everyone). */
export function jobVisibleSql(viewer: Viewer, job: { modelId: AnyColumn | SQL; params: AnyColumn | SQL } = jobs): SQL {
  return sql`(${visibleModelSql(viewer, job.modelId)} and ${visibleSaeSql(viewer, sql`(${job.params}->>'saeId')::uuid`)})`;
}

/** The job, when `viewer` may see what it is for. */
export async function getVisibleJob(db: Db, viewer: Viewer, id: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(and(eq(jobs.id, id), jobVisibleSql(viewer)));
  return row;
}

/**
 * A job as one reader may see it: in full for its owner, admins and its SAE's (model's) maintainers
 * (authz.maySeeJobContents); for anyone else only that it exists — its type, model, status, progress (the worker's
 * phase, counts, rate and ETA) and times — with the params (the prompt), result, error, provenance, owner and
 * worker left out (null) and `redacted` set.
 */
export type JobView = JobRow & { redacted: boolean };

/** The job rows as `viewer` may see them (the rows are ones they may see exist: jobVisibleSql). */
export async function jobViews(db: Db, viewer: Viewer, rows: JobRow[]): Promise<JobView[]> {
  const decided = new Map<string, boolean>();
  const out: JobView[] = [];
  for (const row of rows) {
    const saeId = (row.params as { saeId?: unknown } | null)?.saeId;
    // one decision per owner and SAE (or model): a page of jobs costs a few queries, not one per job
    const key = `${row.userId}|${typeof saeId === 'string' ? saeId : `model:${row.modelId}`}`;
    let full = decided.get(key);
    if (full === undefined) decided.set(key, (full = await maySeeJobContents(db, viewer, row)));
    out.push(full ? { ...row, redacted: false } : { ...row, params: null, result: null, error: null, provenance: null, userId: null, workerId: null, redacted: true });
  }
  return out;
}

export async function jobView(db: Db, viewer: Viewer, row: JobRow): Promise<JobView> {
  return (await jobViews(db, viewer, [row]))[0]!;
}

/** The newest jobs on a model (of a type, on an SAE) that `viewer` may see exist (as jobViews shows them). */
export async function recentJobs(db: Db, viewer: Viewer, filter: { modelId: string; type?: JobType; saeId?: string; limit?: number }): Promise<JobView[]> {
  const rows = await db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.modelId, filter.modelId),
        filter.type ? eq(jobs.type, filter.type) : undefined,
        filter.saeId ? sql`${jobs.params}->>'saeId' = ${filter.saeId}` : undefined,
        jobVisibleSql(viewer),
      ),
    )
    .orderBy(desc(jobs.createdAt))
    .limit(filter.limit ?? 10);
  return jobViews(db, viewer, rows);
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

/** The newest job of a type (any status) that `viewer` may see exist, e.g. the demo for the home page (as jobViews shows it). */
export async function latestJob(db: Db, viewer: Viewer, type: JobType): Promise<JobView | undefined> {
  const [row] = await db.select().from(jobs).where(and(eq(jobs.type, type), jobVisibleSql(viewer))).orderBy(desc(jobs.createdAt)).limit(1);
  return row && jobView(db, viewer, row);
}

/** Queued and running jobs `viewer` may see exist, newest first (as jobViews shows them). */
export async function activeJobs(db: Db, viewer: Viewer, filter: { type?: JobType; limit?: number } = {}): Promise<JobView[]> {
  const rows = await db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.status, ['queued', 'running']), filter.type ? eq(jobs.type, filter.type) : undefined, jobVisibleSql(viewer)))
    .orderBy(desc(jobs.createdAt))
    .limit(filter.limit ?? 20);
  return jobViews(db, viewer, rows);
}

/** SQL: the worker beat within the timeout (its jobs and dashboard shards are not orphans). */
export const workerAlive = (workerId: AnyColumn | SQL) =>
  sql`exists (select 1 from ${workers} where ${workers.id} = ${workerId} and ${workers.lastSeen} > now() - make_interval(secs => ${WORKER_TIMEOUT_SECONDS}))`;

/**
 * Claims a job for `workerId`: a queued one, or a running one whose worker died. Undefined when it
 * was cancelled, finished, or is being run by a live worker (a duplicate delivery).
 */
export async function markRunning(db: Db, id: string, workerId: string): Promise<JobRow | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobs)
      .set({ status: 'running', workerId, startedAt: new Date(), error: null })
      .where(
        and(
          eq(jobs.id, id),
          or(eq(jobs.status, 'queued'), and(eq(jobs.status, 'running'), or(isNull(jobs.workerId), not(workerAlive(jobs.workerId))))),
        ),
      )
      .returning();
    if (row) await jobChanged(tx, row);
    return row;
  });
}

/** Running jobs whose worker stopped beating: to be queued again. */
export async function orphanedJobs(db: Db): Promise<Pick<JobRow, 'id' | 'type'>[]> {
  return db
    .select({ id: jobs.id, type: jobs.type })
    .from(jobs)
    .where(and(eq(jobs.status, 'running'), or(isNull(jobs.workerId), not(workerAlive(jobs.workerId)))));
}

/**
 * The job is running, and with `workerId`, still that worker's: a worker taken for dead (its heartbeat late) whose job
 * another took over must neither report for it nor end it.
 */
const runningBy = (id: string, workerId?: string) => and(eq(jobs.id, id), eq(jobs.status, 'running'), workerId === undefined ? undefined : eq(jobs.workerId, workerId));

/** Progress of a running job; false when it is no longer running (cancelled) or no longer `workerId`'s, so the worker stops. */
export async function markProgress(db: Db, id: string, progress: number, detail?: unknown, workerId?: string): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ progress, progressDetail: detail ?? null })
    .where(runningBy(id, workerId))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function markDone(db: Db, id: string, result: unknown, provenance: unknown, workerId?: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobs)
      .set({ status: 'done', progress: 1, result, provenance, finishedAt: new Date() })
      .where(runningBy(id, workerId))
      .returning();
    if (row) await jobChanged(tx, row);
  });
}

export async function markFailed(db: Db, id: string, error: string, workerId?: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobs)
      .set({ status: 'failed', error, finishedAt: new Date() })
      .where(runningBy(id, workerId))
      .returning();
    if (row) await jobChanged(tx, row);
  });
}

/** Cancels a queued or running job; a running one stops at its next progress report. */
export async function cancelJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobs)
      .set({ status: 'cancelled', finishedAt: new Date() })
      .where(and(eq(jobs.id, id), inArray(jobs.status, ['queued', 'running'])))
      .returning();
    if (row) await jobChanged(tx, row);
    return row;
  });
}

/** Jobs that recompute some features' dashboards: their feature pages show them, their watchers hear when they end. */
const RECOMPUTE_TYPES = new Set(['dashboards', 'logit-weights']);
/** a run over this many features is news for the SAE page, not for each feature's */
const MAX_FEATURE_EVENTS = 64;

/**
 * A job's status changed (in `db`'s transaction): live pages of its SAE and recomputed features hear of it, and when a
 * recompute ends, the watchers of those features get a notification.
 */
async function jobChanged(db: Db, row: JobRow): Promise<void> {
  const params = row.params as { saeId?: unknown; features?: unknown };
  if (typeof params.saeId !== 'string') return;
  const saeId = params.saeId;
  await publish(db, { topic: saeTopic(saeId), type: 'job', id: row.id });
  if (!RECOMPUTE_TYPES.has(row.type)) return;
  const features = Array.isArray(params.features) ? params.features.filter((f): f is number => Number.isInteger(f)) : [];
  const ended = row.status === 'done' || row.status === 'failed';
  const outcome = row.status === 'done' ? 'finished' : `failed: ${(row.error ?? '').slice(0, 200)}`;
  if (features.length === 0) {
    // the whole SAE's dashboards
    if (ended) await notifySaeWatchers(db, saeId, { kind: 'job', actorId: row.userId, summary: (address) => `The dashboards of ${address} ${outcome}` });
    return;
  }
  if (features.length > MAX_FEATURE_EVENTS) return;
  for (const index of features) await publish(db, { topic: featureTopic(saeId, index), type: 'job', id: row.id });
  if (!ended) return;
  const what = row.type === 'dashboards' ? 'dashboard' : 'logit weights';
  await notifyFeatureWatchers(db, saeId, features, { kind: 'job', actorId: row.userId, summary: (address) => `The ${what} recompute of ${address} ${outcome}` });
}
