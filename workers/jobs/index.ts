/** Runs one job record: claim it, compute, store the result or the error. */
import { eq } from 'drizzle-orm';
import { models } from '@/drizzle/schema';
import { markDone, markFailed, markProgress, markRunning } from '@/server/jobs';
import { jobParams, type JobParams, type JobType } from '@/server/jobs/types';
import type { Db } from '@/server/db';
import { InputError } from '../errors';
import { getModel } from '../model-cache';
import type { JobContext, JobOutput } from './context';
import { runJob } from './run';

const handlers: { [T in JobType]: (params: JobParams<T>, ctx: JobContext) => Promise<JobOutput> } = {
  run: runJob,
};

const CODE_VERSION = process.env.npm_package_version ?? '0.1.0';

export async function executeJob(db: Db, backend: string, jobId: string): Promise<void> {
  const job = await markRunning(db, jobId);
  if (!job) return; // cancelled, finished, or never recorded
  const type = job.type as JobType;
  const ctx: JobContext = {
    db,
    backend,
    progress: (fraction) => markProgress(db, jobId, fraction),
    async model(id) {
      const row = await db.query.models.findFirst({ where: eq(models.id, id) });
      if (!row) throw new InputError(`model ${id} is not registered`);
      return { row, model: await getModel(row.path, row.contentHash) };
    },
  };
  try {
    const params = jobParams[type].parse(job.params);
    const output = await (handlers[type] as (p: typeof params, c: JobContext) => Promise<JobOutput>)(params, ctx);
    await markDone(db, jobId, output.result, { ...output.inputs, codeVersion: CODE_VERSION, backend });
  } catch (err) {
    // Input problems are the user's to fix; anything else is ours, so keep the stack in the log.
    if (!(err instanceof InputError)) console.error(`[worker] job ${jobId} (${type}) failed:`, err);
    await markFailed(db, jobId, (err as Error).message || String(err));
  }
}
