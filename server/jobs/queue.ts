/** pg-boss in the same database: one queue per job type. */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { requireDatabaseUrl } from '../db';
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
 * NOTIFYs this channel (payload: the job type), and each worker LISTENs and wakes its pg-boss worker for that type.
 * Polling stays: a missed notification only means the job waits for the next poll.
 */
export const JOB_CHANNEL = 'lexicon_job';

/** Announces a queued job; inside a transaction, PostgreSQL delivers it when the transaction commits. */
export async function notifyJob(client: Pick<pg.ClientBase, 'query'>, type: JobType): Promise<void> {
  await client.query('select pg_notify($1, $2)', [JOB_CHANNEL, type]);
}

/**
 * Calls `onJob(type)` for every job announced on JOB_CHANNEL, on a connection of its own, reconnecting (every 2 s)
 * when it is lost. Resolves once listening.
 */
export async function listenForJobs(url: string, onJob: (type: JobType) => void): Promise<{ stop(): Promise<void> }> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    let gone = false;
    const lost = (err?: Error) => {
      if (gone) return;
      gone = true;
      if (client === next) client = undefined;
      next.end().catch(() => undefined);
      if (stopped) return;
      if (err) console.error('[queue] job notifications lost, polling only until reconnected:', err.message);
      retry = setTimeout(() => void connect().catch(() => undefined), 2_000);
    };
    next.on('notification', ({ channel, payload }) => {
      if (channel === JOB_CHANNEL && (JOB_TYPES as string[]).includes(payload ?? '')) onJob(payload as JobType);
    });
    next.on('error', lost);
    next.on('end', () => lost());
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${JOB_CHANNEL}`);
    } catch (err) {
      lost(err as Error);
      throw err;
    }
  };
  await connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
