/**
 * The compute worker: picks the TensorFlow.js backend, announces itself, and consumes every job
 * queue. Start any number of them (`npm run worker`); they share the queue in PostgreSQL.
 */
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { workers } from '@/drizzle/schema';
import { getDb, getPool, requireDatabaseUrl } from '@/server/db';
import { orphanedJobs } from '@/server/jobs';
import { startQueue } from '@/server/jobs/queue';
import { JOB_TYPES } from '@/server/jobs/types';
import { initBackend } from './backend';
import { executeJob } from './jobs';

const HEARTBEAT_MS = 5_000;
const SWEEP_MS = 10_000;

async function main() {
  const backend = await initBackend();
  const db = getDb();
  const boss = await startQueue(requireDatabaseUrl());
  const id = `${os.hostname()}:${process.pid}`;

  const beat = () =>
    db
      .insert(workers)
      .values({ id, backend, host: os.hostname(), pid: process.pid })
      .onConflictDoUpdate({ target: workers.id, set: { lastSeen: sql`now()`, backend } })
      .catch((err: Error) => console.error('[worker] heartbeat failed:', err.message));
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);

  for (const type of JOB_TYPES) {
    await boss.work<{ jobId: string }>(type, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async ([job]) => {
      await executeJob(db, { id, backend }, job!.data.jobId);
    });
  }

  // Jobs whose worker died (no heartbeat) go back on the queue; any live worker may claim them.
  const sweep = async () => {
    try {
      for (const orphan of await orphanedJobs(db)) {
        await boss.send(orphan.type, { jobId: orphan.id }, { singletonKey: `orphan-${orphan.id}` });
      }
    } catch (err) {
      console.error('[worker] orphan sweep failed:', (err as Error).message);
    }
  };
  const sweeper = setInterval(sweep, SWEEP_MS);
  console.log(`[worker] ${id} ready (${backend}), queues: ${JOB_TYPES.join(', ')}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    clearInterval(sweeper);
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
    await getPool().end().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error('[worker] fatal:', err);
  process.exit(1);
});
