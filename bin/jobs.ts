/**
 * Jobs from the command line (`lexicon demo`, `lexicon dashboards`): run in this process as a worker would run them,
 * followed through their record, and cancelled as the pages' Cancel does when the command is interrupted.
 */
import os from 'node:os';
import type { Db } from '../server/db';
import type { JobRow } from '../server/jobs';

/** Calls `onRow` with the job's record, read every `everyMs`, until it ends; resolves with the ended record. */
export async function followJob(db: Db, id: string, onRow: (job: JobRow) => void, everyMs: number): Promise<JobRow> {
  const { getJob } = await import('../server/jobs');
  for (;;) {
    const job = await getJob(db, id);
    if (!job) throw new Error(`job ${id} disappeared`);
    if (job.status !== 'queued' && job.status !== 'running') return job;
    onRow(job);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Runs a queued job here as a worker would: with a heartbeat, so that if this process dies without a word (killed,
 * crashed) its job is an orphan that a worker's sweep hands to another worker (server/jobs orphanedJobs); and
 * listening, as a worker does, so that a dashboards job waiting for shards on other workers hears each one end
 * (watchShards) instead of looking again every second. The LISTEN connection closes with the job, cancelled or not,
 * before the command stops the PostgreSQL it may have started.
 */
export async function runInProcess(db: Db, jobId: string): Promise<void> {
  const [{ initBackend }, { startHeartbeat }, { executeJob }, { eventHub }] = await Promise.all([
    import('../compute/backend'),
    import('../worker/heartbeat'),
    import('../worker/jobs'),
    import('../server/events'),
  ]);
  const backend = await initBackend();
  await eventHub()
    .ready()
    .catch((err: Error) => console.error(`no shard announcements (${err.message}): looking for finished shards every second`));
  const heartbeat = await startHeartbeat(db, backend, `cli:${process.pid}`);
  try {
    await executeJob(db, { id: heartbeat.id, backend }, jobId);
  } finally {
    await heartbeat.stop({ forget: true });
    await eventHub().close();
  }
}

export interface SignalCancel {
  /** the signal that cancelled the job, if one came */
  readonly signal: NodeJS.Signals | undefined;
  /** gives SIGINT and SIGTERM back */
  release(): void;
}

/**
 * Until released, SIGINT and SIGTERM cancel the job (cancelJob, as the pages' Cancel) instead of ending the process
 * at once: whichever worker runs it, this process included, then stops at its next progress report and deletes its
 * run, and other workers drop its shards. A second signal ends the process at once.
 */
export async function cancelJobOnSignal(db: Db, jobId: string): Promise<SignalCancel> {
  const [{ cancelJob }, { takeOverExitSignals }] = await Promise.all([import('../server/jobs'), import('../server/postgres')]);
  takeOverExitSignals();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + os.constants.signals[signal]);
    received = signal;
    console.error(`\n${signal}: cancelling job ${jobId} (again to quit at once)`);
    cancelJob(db, jobId).catch((err: Error) => console.error(`could not cancel job ${jobId}: ${err.message}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get signal() {
      return received;
    },
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
