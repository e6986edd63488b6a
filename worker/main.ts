/**
 * The compute worker: picks the TensorFlow.js backend, announces itself, and consumes every job
 * queue. Start any number of them (`npm run worker`); they share the queue in PostgreSQL.
 *
 * `npm run worker -- --concurrency N` runs N worker processes (default: one per core), since the wasm backend
 * computes on one thread: this process then only starts them, restarts one that dies, and stops them on a signal.
 */
import cluster from 'node:cluster';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { getDb, getPool, requireDatabaseUrl } from '@/server/db';
import { ORPHAN_SWEEP_MS, orphanedJobs } from '@/server/jobs';
import { listenForJobs, notifyJob, startQueue } from '@/server/jobs/queue';
import { JOB_TYPES, type JobType } from '@/jobs';
import { initBackend } from '@/compute/backend';
import { eventHub } from '@/server/events';
import { startHeartbeat } from './heartbeat';
import { executeJob } from './jobs';
import { helpWhenIdle } from './jobs/dashboard-shards';

async function main() {
  const backend = await initBackend();
  const db = getDb();
  const boss = await startQueue(requireDatabaseUrl());
  const heartbeat = await startHeartbeat(db, backend);
  const id = heartbeat.id;

  const workIds = new Map<string, string>();
  /** jobs this process is running: it helps with other jobs' dashboard shards only when it runs none */
  let running = 0;
  // A dashboards job is split into shards that any idle worker claims (worker/jobs/dashboard-shards.ts).
  const helper = await helpWhenIdle(db, id, { idle: () => running === 0 });
  for (const type of JOB_TYPES) {
    const workId = await boss.work<{ jobId: string }>(type, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async ([job]) => {
      running++;
      try {
        await executeJob(db, { id, backend }, job!.data.jobId);
      } finally {
        running--;
        // idle again: shards announced meanwhile were passed over
        if (running === 0) helper.wake();
      }
    });
    workIds.set(type, workId);
  }
  // A job announced by whoever queued it is fetched at once rather than at the next poll (see listenForJobs).
  const listener = await listenForJobs((type) => boss.notifyWorker(workIds.get(type)!));

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
  process.send?.({ ready: true }); // to the supervising process, when there is one (--concurrency)

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(sweeper);
    helper.stop();
    listener.stop();
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
    // a job still running here is now an orphan: forgetting this worker lets another take it over at once
    await heartbeat.stop({ forget: true });
    await eventHub().close();
    await getPool().end().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** A process that dies before it was ready (a bad setting, no database) stops them all; one that dies later is replaced. */
function supervise(concurrency: number) {
  const ready = new Set<number>();
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: { ready?: boolean }) => void (message.ready && ready.add(worker.id)));
  };
  let stopping = false;
  let exitCode = 0;
  const stopAll = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  cluster.on('exit', (worker, code, signal) => {
    const how = signal ?? `with ${code}`;
    if (!stopping && !ready.has(worker.id)) {
      console.error(`[worker] a worker process exited ${how} before it was ready: stopping`);
      exitCode = code || 1;
      stopAll();
    } else if (!stopping) {
      // its job is an orphan now, which another worker takes over; this one replaces the lost capacity
      console.error(`[worker] a worker process exited ${how}: starting another`);
      fork();
    }
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  });
  process.on('SIGTERM', () => stopping || stopAll());
  process.on('SIGINT', () => stopping || stopAll());
  for (let i = 0; i < concurrency; i++) fork();
}

function concurrencyOption(): number {
  const { values } = parseArgs({ options: { concurrency: { type: 'string' } }, strict: true });
  if (values.concurrency === undefined) return os.availableParallelism();
  const n = Number(values.concurrency);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--concurrency must be a whole number of processes ≥ 1, got "${values.concurrency}"`);
  return n;
}

// Cluster children run main() without looking at the options (they share the primary's argv).
let concurrency = 1;
try {
  if (cluster.isPrimary) concurrency = concurrencyOption();
} catch (err) {
  console.error(`[worker] ${(err as Error).message}`);
  process.exit(2);
}
if (concurrency > 1) supervise(concurrency);
else
  main().catch((err) => {
    console.error('[worker] fatal:', err);
    process.exit(1);
  });
