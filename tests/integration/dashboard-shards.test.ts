/**
 * One dashboards job shared by several worker processes (separate processes against a real embedded PostgreSQL, the
 * real stories260K model and fixture SAE): the job's shards (feature ranges' passes over ranges of the corpus and their
 * merges, and the evals over ranges of the corpus) are claimed by every idle worker, and the stored run is the same, row for row, as one worker's; its evals are one
 * pass's within 1e-6 relative; a killed worker's shard is taken over; cancelling stops every shard; an idle worker
 * starts on a new job's shards as soon as they are announced.
 */
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dashboardRuns, dashboardShards, featureExamples, features } from '@/drizzle/schema';
import { storeCorpus, type CorpusRow } from '@/server/corpora';
import { cancelJob, enqueueJob, getJob, type JobRow } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import { getDb, getPool } from '@/server/db';
import type { ProgressDetail } from '@/jobs/types';
import type { ModelRow } from '@/server/models';
import { registerModel } from '@/server/register-models';
import { registerSae } from '@/server/register-saes';
import type { SaeRow } from '@/server/saes';
import { signUp, type UserRow } from '@/server/users';
import { initBackend } from '@/compute/backend';
import { sampleModelCorpus } from '@/compute/corpus/sampled';
import { computeDashboards } from '@/compute/dashboards/compute';
import { loadModel } from '@/compute/model/load';
import { loadSae } from '@/compute/sae/load';
import { EVAL_RANGES, PASS_RANGES } from '@/worker/jobs/dashboards';
import { SHARD_POLL_MS } from '@/worker/jobs/dashboard-shards';
import { relativeDifferences } from '../helpers/close';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { startWorker, waitFor, type TestWorker } from '../helpers/worker';
import { FIXTURES_DIR, SHARED_DIR, STORIES_DIR } from '../shared';

/**
 * 256 features in ranges of 128: each range's two passes over PASS_RANGES ranges of the corpus (96 contexts in 24
 * batches of 4) and its merge; and the evals' two passes in EVAL_RANGES ranges each
 */
const FEATURES_PER_SHARD = 128;
const SHARDS = 2 * (2 * PASS_RANGES + 1) + 2 * EVAL_RANGES;

let database: TestDatabase;
let workerEnv: Record<string, string>;
let workers: TestWorker[] = [];
let admin: UserRow;
let model: ModelRow;
let sae: SaeRow;
let corpus: CorpusRow;
/** the corpus's contexts, and the evals of one pass over them, computed in this process */
let contexts: number[][];
/** the run one worker computed, as stored */
let single: StoredRun;

beforeAll(async () => {
  database = await startTestDatabase();
  // a killed worker is taken for dead within seconds instead of 30 (not fewer: a loaded machine delays heartbeats)
  workerEnv = { LEXICON_WORKER_TIMEOUT_S: '15', LEXICON_DATA_DIR: path.join(database.dir, 'data'), LEXICON_MODELS_DIR: path.join(SHARED_DIR, 'models') };
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  model = await registerModel(getDb(), STORIES_DIR);
  sae = await registerSae(getDb(), model, path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard'));
  const lm = await loadModel(STORIES_DIR);
  const sampled = await sampleModelCorpus(lm, { documents: 1000, maxTokens: 12_288, documentTokens: 256, contextSize: 128, prependBos: true, seed: 3, temperature: 1 });
  lm.dispose();
  corpus = await storeCorpus({ modelId: model.id, name: 'sampled', contexts: sampled.contexts, contextSize: 128, prependBos: true, source: sampled.source });
  contexts = sampled.contexts;
}, 180_000);

afterAll(async () => {
  for (const worker of workers) await worker.stop('SIGKILL');
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

async function startWorkers(n: number): Promise<void> {
  while (workers.length < n) workers.push(await startWorker(database.url, workerEnv));
}

async function stopWorkers(): Promise<void> {
  for (const worker of workers.splice(0)) await worker.stop();
}

async function enqueueDashboards(): Promise<JobRow> {
  const params = { saeId: sae.id, corpusId: corpus.id, featuresPerShard: FEATURES_PER_SHARD, batchSize: 4 };
  return enqueueJob(await getQueue(), { type: 'dashboards', params: params as never, userId: admin.id, modelId: model.id });
}

/** The job's record when it ends, and every progress detail seen while it ran (read every 200 ms). */
async function finished(id: string): Promise<{ job: JobRow; seen: ProgressDetail[] }> {
  const seen: ProgressDetail[] = [];
  const job = await waitFor(
    async () => {
      const row = await getJob(getDb(), id);
      if (row?.progressDetail) seen.push(row.progressDetail as ProgressDetail);
      return row && row.status !== 'queued' && row.status !== 'running' ? row : undefined;
    },
    `job ${id}`,
    240_000,
  );
  return { job, seen };
}

interface StoredRun {
  evals: unknown;
  features: Record<string, unknown>[];
  examples: Record<string, unknown>[];
}

/** Everything a run stored, in a fixed order, without the run's id. */
async function stored(runId: string): Promise<StoredRun> {
  const [run] = await getDb().select().from(dashboardRuns).where(eq(dashboardRuns.id, runId));
  const rows = await getDb().select().from(features).where(eq(features.runId, runId)).orderBy(features.index);
  const examples = await getDb()
    .select()
    .from(featureExamples)
    .where(eq(featureExamples.runId, runId))
    .orderBy(featureExamples.featureIndex, featureExamples.kind, featureExamples.interval, featureExamples.rank);
  const withoutRun = <T extends { runId: string }>({ runId: _runId, ...rest }: T) => rest;
  return { evals: run!.evals, features: rows.map(withoutRun), examples: examples.map(withoutRun) };
}

/** Compares two runs feature by feature, naming the first differences. */
function expectSameRun(actual: StoredRun, expected: StoredRun) {
  expect(actual.features.length).toBe(256);
  expect(actual.examples.length).toBe(expected.examples.length);
  const differences: string[] = [];
  actual.features.forEach((row, i) => {
    for (const [key, value] of Object.entries(row)) {
      if (JSON.stringify(value) !== JSON.stringify(expected.features[i]![key])) differences.push(`feature ${row.index}: ${key}`);
    }
  });
  actual.examples.forEach((row, i) => {
    for (const [key, value] of Object.entries(row)) {
      const other = expected.examples[i]![key];
      const same = Buffer.isBuffer(value) ? Buffer.compare(value, other as Buffer) === 0 : JSON.stringify(value) === JSON.stringify(other);
      if (!same) differences.push(`example ${row.featureIndex}/${row.kind}/${row.interval}/${row.rank}: ${key}`);
    }
  });
  expect(differences.slice(0, 10)).toEqual([]);
  // the evals are the eval shards' sums merged in shard order, the same whichever workers computed them: bit for bit
  expect(actual.evals).toEqual(expected.evals);
}

const shardWorkers = async (jobId: string) =>
  (
    await getPool().query<{ worker_id: string }>(
      `select distinct s.worker_id from dashboard_shard s join dashboard_run r on r.id = s.run_id where r.job_id = $1 and s.status = 'running'`,
      [jobId],
    )
  ).rows.map((r) => r.worker_id);

it('computes a job on one worker in shards, then on three workers sharing its shards, storing the same rows', async () => {
  await startWorkers(1);
  const one = await finished((await enqueueDashboards()).id);
  expect(one.job.error).toBeNull();
  expect(one.job.result).toMatchObject({ features: 256, timings: { chunks: SHARDS, workers: 1 } });
  single = await stored((one.job.result as { runId: string }).runId);
  expect(single.features.map((f) => f.index)).toEqual(Array.from({ length: 256 }, (_, i) => i));
  // the shards are gone with the run's completion; their evals are the run's
  expect(await getDb().select().from(dashboardShards)).toEqual([]);
  expect(single.evals).toMatchObject({ nTokens: corpus.nTokens, nFeatures: 256 });
  // merged from ranges of the corpus, they are one pass's over all of it but for the order of the float64 additions
  await initBackend();
  const lm = await loadModel(STORIES_DIR);
  const fixture = await loadSae(path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard'));
  const { firingCounts: _counts, ...onePass } = (await computeDashboards({ model: lm, sae: fixture, contexts, features: [0], batchSize: 4 })).sae;
  fixture.dispose();
  lm.dispose();
  expect(relativeDifferences(single.evals, onePass, 1e-6).slice(0, 10)).toEqual([]);

  await startWorkers(3);
  const three = await finished((await enqueueDashboards()).id);
  expect(three.job.error).toBeNull();
  const { timings } = three.job.result as { timings: { chunks: number; workers: number } };
  expect(timings.chunks).toBe(SHARDS);
  expect(timings.workers).toBeGreaterThanOrEqual(2);
  expectSameRun(await stored((three.job.result as { runId: string }).runId), single);

  // what the SAE page shows meanwhile: shards done of the total, tokens/s summed over the workers, an ETA
  const shared = three.seen.filter((d) => d.unit === 'tokens' && (d.shards as { running: number }).running >= 2);
  expect(shared.length, JSON.stringify(three.seen.at(-1))).toBeGreaterThan(0);
  for (const detail of shared) {
    expect(detail).toMatchObject({ shards: { total: SHARDS }, tokensTotal: expect.any(Number), tokensPerSecond: expect.any(Number) });
    expect((detail.shards as { done: number }).done).toBeLessThanOrEqual(SHARDS);
  }
  expect(shared.some((d) => typeof d.etaSeconds === 'number' && d.rate! > 0)).toBe(true);
}, 600_000);

it('hands the shard of a killed worker to another; the job completes with the same rows', async () => {
  await startWorkers(3);
  const job = await enqueueDashboards();
  const coordinator = await waitFor(async () => (await getJob(getDb(), job.id))?.workerId ?? undefined, 'the job to be claimed');
  // a helper (not the job's own worker) in the middle of a shard
  const helperId = await waitFor(async () => (await shardWorkers(job.id)).find((id) => id !== coordinator), 'a helper running a shard', 120_000);
  const victim = workers.find((w) => helperId.endsWith(`:${w.process.pid}`))!;
  workers = workers.filter((w) => w !== victim);
  await victim.stop('SIGKILL');

  const { job: done } = await finished(job.id);
  expect(done.error, `job worker ${coordinator}, killed ${helperId}:\n${workers.map((w) => w.output()).join('\n')}`).toBeNull();
  expect(done.status).toBe('done');
  expectSameRun(await stored((done.result as { runId: string }).runId), single);
}, 600_000);

it('cancelling the job stops all its shards and leaves nothing behind', async () => {
  await startWorkers(3);
  const job = await enqueueDashboards();
  await waitFor(async () => ((await shardWorkers(job.id)).length >= 2 ? true : undefined), 'two workers running shards', 120_000);
  const [{ id: runId }] = await getDb().select({ id: dashboardRuns.id }).from(dashboardRuns).where(eq(dashboardRuns.jobId, job.id));
  expect((await cancelJob(getDb(), job.id))?.status).toBe('cancelled');
  await waitFor(async () => ((await getDb().select().from(dashboardRuns).where(eq(dashboardRuns.id, runId!))).length === 0 ? true : undefined), 'the run to be deleted');
  const [{ n }] = (await getDb().execute<{ n: number }>(sql`select count(*)::int as n from ${dashboardShards} where ${dashboardShards.runId} = ${runId}`)).rows;
  expect(n).toBe(0);
  expect((await getJob(getDb(), job.id))!.status).toBe('cancelled');
  // every worker is free again: a new job is shared and completes with the same rows
  const { job: again } = await finished((await enqueueDashboards()).id);
  expect(again.error).toBeNull();
  expect(again.status).toBe('done');
  expectSameRun(await stored((again.result as { runId: string }).runId), single);
  // a shard dropped for a cancel is no failure
  expect(workers.map((w) => w.output()).join('\n')).not.toMatch(/dashboard shard failed|failed:/);
  await stopWorkers();
}, 600_000);

it('an idle worker hears of a new job’s shards and starts one at once, not at its next look', async () => {
  // fresh workers have just looked for shards: the next look is SHARD_POLL_MS away, so only the announcement of the
  // shards' creation gets one started sooner
  await startWorkers(2);
  const job = await enqueueDashboards();
  const coordinator = await waitFor(async () => (await getJob(getDb(), job.id))?.workerId ?? undefined, 'the job to be claimed');
  const { rows } = await waitFor(async () => {
    const result = await getPool().query<{ worker_id: string; waited_ms: number }>(
      `select s.worker_id, (extract(epoch from min(s.started_at) - min(s.created_at)) * 1000)::float8 as waited_ms
         from dashboard_shard s join dashboard_run r on r.id = s.run_id
        where r.job_id = $1 and s.worker_id is not null and s.worker_id <> $2
        group by s.worker_id`,
      [job.id, coordinator],
    );
    return result.rows.length > 0 ? result : undefined;
  }, 'the idle worker to claim a shard', 120_000);
  expect(rows[0]!.waited_ms).toBeGreaterThanOrEqual(0);
  expect(rows[0]!.waited_ms).toBeLessThan(SHARD_POLL_MS / 2);
  const { job: done } = await finished(job.id);
  expect(done.error).toBeNull();
  expect((done.result as { timings: { workers: number } }).timings.workers).toBe(2);
  await stopWorkers();
}, 600_000);
