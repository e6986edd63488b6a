/** pg-boss in the same database: one queue per job type. */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { requireDatabaseUrl } from '../db';
import { EVENT_CHANNEL, eventHub, JOBS_TOPIC, type LexiconEvent } from '../events';
import { JOB_TYPES, jobKinds, type JobType } from '@/jobs';

const globalForBoss = globalThis as unknown as { lexiconBoss?: Promise<PgBoss> };

export async function startQueue(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss', max: 4 });
  boss.on('error', (err) => console.error('[queue]', err.message));
  await boss.start();
  // Processes starting together (web processes, workers) would create the same queues at once and deadlock in
  // pg-boss's queue table: one at a time, under an advisory lock.
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query(`select pg_advisory_lock(hashtext('lexicon.queue-setup'))`);
    for (const type of JOB_TYPES) {
      // A crashed worker's job is queued again by the heartbeat sweep (worker/main.ts); expiry is the backstop.
      await boss.createQueue(type, { name: type, retryLimit: 2, expireInSeconds: jobKinds[type].expirySeconds });
    }
  } finally {
    await lock.end(); // ending the session releases the lock
  }
  return boss;
}

/** The web process's queue client, started on first use. */
export function getQueue(): Promise<PgBoss> {
  globalForBoss.lexiconBoss ??= startQueue(requireDatabaseUrl()).catch((err) => {
    globalForBoss.lexiconBoss = undefined;
    throw err;
  });
  return globalForBoss.lexiconBoss;
}

/**
 * Wake-ups for idle workers. A worker polls its queues (every 0.5 s), so a job would wait for the next poll: most of
 * a short job's latency. pg-boss's notifyWorker only reaches workers of its own process, so whoever enqueues also
 * announces the job's type on the live-events channel (topic JOBS_TOPIC, server/events.ts), which each worker process
 * LISTENs on with its one event connection, waking its pg-boss worker for that type. Polling stays: a missed
 * announcement (while that connection is re-established) only means the job waits for the next poll.
 */

/** Announces a queued job; inside a transaction, PostgreSQL delivers it when the transaction commits. */
export async function notifyJob(client: Pick<pg.ClientBase, 'query'>, type: JobType): Promise<void> {
  const event: LexiconEvent = { topic: JOBS_TOPIC, type: 'job', id: type };
  await client.query('select pg_notify($1, $2)', [EVENT_CHANNEL, JSON.stringify(event)]);
}

/** Calls `onJob(type)` for every job announced from now on; resolves once listening (or polling only, if it cannot). */
export async function listenForJobs(onJob: (type: JobType) => void): Promise<{ stop(): void }> {
  await eventHub()
    .ready()
    .catch((err: Error) => console.error(`[queue] no job announcements (${err.message}): polling until connected`));
  const stop = eventHub().subscribe(JOBS_TOPIC, (event) => {
    if (event.type === 'job' && (JOB_TYPES as string[]).includes(event.id ?? '')) onJob(event.id as JobType);
  });
  return { stop };
}
