/** pg-boss in the same database: one queue per job type. */
import PgBoss from 'pg-boss';
import { requireDatabaseUrl } from '../db';
import { JOB_EXPIRY_SECONDS, JOB_TYPES } from './types';

const globalForBoss = globalThis as unknown as { lexiconBoss?: Promise<PgBoss> };

export async function startQueue(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss', max: 4 });
  boss.on('error', (err) => console.error('[queue]', err.message));
  await boss.start();
  for (const type of JOB_TYPES) {
    // A crashed worker's job is queued again by the heartbeat sweep (workers/main.ts); expiry is the backstop.
    await boss.createQueue(type, { name: type, retryLimit: 2, expireInSeconds: JOB_EXPIRY_SECONDS[type] });
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
