/** Runs one job record: claim it, compute, store the result or the error. */
import { eq } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import { markDone, markFailed, markProgress, markRunning } from '@/server/jobs';
import { jobKinds, parseResult, type JobParams, type JobType } from '@/jobs';
import type { Db } from '@/server/db';
import { InputError } from '@/compute/errors';
import { getModel, getSae } from '@/worker/model-cache';
import { ablateJob } from './ablate';
import { activationsJob } from './activations';
import type { JobContext, JobOutput } from './context';
import { sampleCorpusJob } from './corpus';
import { dashboardsJob } from './dashboards';
import { demoJob } from './demo';
import { explainJob } from './explain';
import { importJob } from './import';
import { logitWeightsJob } from './logit-weights';
import { runJob } from './run';
import { steerJob } from './steer';
import { steerGenerateJob } from './steer-generate';
import { topFeaturesJob } from './top-features';
import { trainSaeJob } from './train-sae';

/** The handler of each job kind: a kind without one is a type error. */
const handlers: { [T in JobType]: (params: JobParams<T>, ctx: JobContext) => Promise<JobOutput<T>> } = {
  run: runJob,
  dashboards: dashboardsJob,
  activations: activationsJob,
  ablate: ablateJob,
  steer: steerJob,
  'steer-generate': steerGenerateJob,
  'logit-weights': logitWeightsJob,
  'sample-corpus': sampleCorpusJob,
  'train-sae': trainSaeJob,
  demo: demoJob,
  'top-features': topFeaturesJob,
  explain: explainJob,
  import: importJob,
};

const CODE_VERSION = process.env.npm_package_version ?? '0.1.0';

export async function executeJob(db: Db, worker: { id: string; backend: string }, jobId: string): Promise<void> {
  const job = await markRunning(db, jobId, worker.id);
  if (!job) return; // cancelled, finished, running elsewhere, or never recorded
  const type = job.type as JobType;
  const cancel = new AbortController();
  const ctx: JobContext = {
    db,
    backend: worker.backend,
    jobId,
    workerId: worker.id,
    signal: cancel.signal,
    async progress(fraction, detail) {
      if (!(await markProgress(db, jobId, fraction, detail, worker.id))) cancel.abort(new JobCancelled());
    },
    async model(id) {
      const row = await db.query.models.findFirst({ where: eq(models.id, id) });
      if (!row) throw new InputError(`model ${id} is not registered`);
      return { row, model: await getModel(row.path, row.contentHash) };
    },
    async sae(id) {
      const row = await db.query.saes.findFirst({ where: eq(saes.id, id) });
      if (!row) throw new InputError(`SAE ${id} is not registered`);
      const { row: modelRow, model } = await ctx.model(row.modelId);
      return { row, modelRow, model, sae: await getSae(row.path, row.contentHash, model) };
    },
  };
  try {
    const params = jobKinds[type].params.parse(job.params);
    const output = await (handlers[type] as (p: typeof params, c: JobContext) => Promise<JobOutput<JobType>>)(params, ctx);
    // A result its kind does not describe is a bug in the handler: fail the job rather than store what pages cannot read.
    const result = parseResult(type, output.result);
    await markDone(db, jobId, result, { ...output.inputs, codeVersion: CODE_VERSION, backend: worker.backend }, worker.id);
  } catch (err) {
    if (cancel.signal.aborted) return; // the record already says cancelled (or another worker took the job over)
    // Input problems are the user's to fix; anything else is ours, so keep the stack in the log.
    if (!(err instanceof InputError)) console.error(`[worker] job ${jobId} (${type}) failed:`, err);
    await markFailed(db, jobId, (err as Error).message || String(err), worker.id);
  }
}

export class JobCancelled extends Error {
  constructor() {
    super('the job was cancelled');
    this.name = 'AbortError';
  }
}
