/**
 * The compute worker: picks the TensorFlow.js backend, announces itself, and consumes every job
 * queue. Start any number of them (`npm run worker`); they share the queue in PostgreSQL.
 */
import { getDb, getPool, requireDatabaseUrl } from '@/server/db';
import { ORPHAN_SWEEP_MS, orphanedJobs } from '@/server/jobs';
import { listenForJobs, notifyJob, startQueue } from '@/server/jobs/queue';
import { JOB_TYPES, type JobType } from '@/jobs';
import { initBackend } from '@/compute/backend';
import { startHeartbeat } from './heartbeat';
import { executeJob } from './jobs';

async function main() {
  const backend = await initBackend();
  const db = getDb();
  const boss = await startQueue(requireDatabaseUrl());
  const heartbeat = await startHeartbeat(db, backend);
  const id = heartbeat.id;

  const workIds = new Map<string, string>();
  for (const type of JOB_TYPES) {
    const workId = await boss.work<{ jobId: string }>(type, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async ([job]) => {
      await executeJob(db, { id, backend }, job!.data.jobId);
    });
    workIds.set(type, workId);
  }
  // A job announced by whoever queued it is fetched at once rather than at the next poll (see listenForJobs).
  const listener = await listenForJobs(requireDatabaseUrl(), (type) => boss.notifyWorker(workIds.get(type)!));

  // Jobs whose worker died (no heartbeat) go back on the queue; any live worker may claim them.
  const sweep = async () => {
    try {
      for (const orphan of await orphanedJobs(db)) {
        await boss.send(orphan.type, { jobId: orphan.id }, { singletonKey: `orphan-${orphan.id}` });
        await notifyJob(getPool(), orphan.type as JobType);
      }
    } catch (err) {
      console.error('[worker] orphan sweep failed:', (err as Error).message);
    }
  };
  const sweeper = setInterval(sweep, ORPHAN_SWEEP_MS);
  console.log(`[worker] ${id} ready (${backend}), queues: ${JOB_TYPES.join(', ')}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(sweeper);
    await listener.stop();
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
    // a job still running here is now an orphan: forgetting this worker lets another take it over at once
    await heartbeat.stop({ forget: true });
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
