/**
 * What wakes idle workers, on the event channel a worker process listens on (a real embedded PostgreSQL, its NOTIFY
 * delivered at commit): a queued job (server/jobs/queue.ts), with its type, only once its transaction commits; and for a
 * dashboard run's shards (server/dashboard-shards.ts) their creation, a shard done or failed, and a stopping worker
 * leaving the shard it ran, with the run's id.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { claimShard, completeShard, createShards, failShard, planShards, runsWithOpenShards, watchShards } from '@/server/dashboard-shards';
import { beginRun } from '@/server/dashboards';
import { getDb, getPool } from '@/server/db';
import { eventHub } from '@/server/events';
import { enqueueJob } from '@/server/jobs';
import { getQueue, listenForJobs } from '@/server/jobs/queue';
import type { JobType } from '@/jobs';
import { startHeartbeat } from '@/worker/heartbeat';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';
import { waitFor } from '../helpers/worker';

let database: TestDatabase;
let model: SyntheticModel;
/** the run ids announced since the test's last look (undefined: a reconnect, changes possibly missed) */
const heard: (string | undefined)[] = [];
let unwatch: () => void;

beforeAll(async () => {
  database = await startTestDatabase();
  await eventHub().ready();
  unwatch = watchShards((runId) => heard.push(runId));
  model = await seedSyntheticModel(getDb(), { slug: 'announced', saes: [{ slug: 'sae', hookName: 'blocks.0.hook_resid_post', dSae: 8 }] });
}, 120_000);

afterAll(async () => {
  unwatch?.();
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await eventHub().close();
  await getPool().end();
  await database?.stop();
});

beforeEach(() => void heard.splice(0));

const announced = (runId: string, what: string) => waitFor(async () => (heard.includes(runId) ? true : undefined), `the announcement of ${what}`, 10_000);

const noTimings = { modelSeconds: 0, saeSeconds: 0, bookkeepingSeconds: 0, weightsSeconds: 0, totalSeconds: 0, tokensPerSecond: 0 };

async function newRun(): Promise<string> {
  const sae = model.saes[0]!;
  const { rows } = await getPool().query<{ id: string }>('select corpus_id as id from dashboard_run where id = $1', [sae.runId]);
  const run = await beginRun(getDb(), { saeId: sae.id, corpusId: rows[0]!.id, jobId: null, params: {} });
  // two ranges of 4 features, each with its two passes over the whole corpus and its merge; no evals
  await createShards(getDb(), run.id, planShards(model.contexts, 8, 4, [{ first: 0, count: model.contexts.length }], 0));
  return run.id;
}

it('announces a queued job’s type when its transaction commits, and nothing for one rolled back', async () => {
  const types: JobType[] = [];
  const listener = await listenForJobs((type) => types.push(type));
  const job = { type: 'sample-corpus' as const, params: { modelId: model.id } as never, userId: null, modelId: model.id };
  const refused = new Error('refused alongside');
  await expect(enqueueJob(await getQueue(), job, { alongside: async () => Promise.reject(refused) })).rejects.toBe(refused);
  await enqueueJob(await getQueue(), job);
  await waitFor(async () => (types.length > 0 ? true : undefined), 'the job announced', 10_000);
  // the rolled-back one was never delivered: PostgreSQL delivers in commit order, so it would have come first
  expect(types).toEqual(['sample-corpus']);
  listener.stop();
});

it('announces a run’s shards when they are created, and each one done or failed', async () => {
  const runId = await newRun();
  await announced(runId, 'the shards created');

  const worker = await startHeartbeat(getDb(), 'wasm', 'announcements-a');
  const first = (await claimShard(getDb(), runId, worker.id))!;
  heard.splice(0);
  expect(await completeShard(first, worker.id, model.saes[0]!.id, { features: [], evals: null, timings: noTimings })).toBe(true);
  await announced(runId, 'a shard done');

  const second = (await claimShard(getDb(), runId, worker.id))!;
  heard.splice(0);
  await failShard(getDb(), second, worker.id, 'out of memory');
  await announced(runId, 'a shard failed');
  await worker.stop({ forget: true });
});

it('announces the shard of a worker that stops, which another may claim at once', async () => {
  const runId = await newRun();
  const leaving = await startHeartbeat(getDb(), 'wasm', 'announcements-b');
  expect((await claimShard(getDb(), runId, leaving.id))?.index).toBe(0);
  expect((await claimShard(getDb(), runId, leaving.id))?.index).toBe(1);
  // both running on a live worker: nothing to claim
  expect(await runsWithOpenShards(getDb())).not.toContain(runId);
  heard.splice(0);
  await leaving.stop({ forget: true });
  await announced(runId, 'the worker leaving its shards');
  expect(await runsWithOpenShards(getDb())).toContain(runId);
  const other = await startHeartbeat(getDb(), 'wasm', 'announcements-c');
  expect((await claimShard(getDb(), runId, other.id))?.workerId).toBe(other.id);
  await other.stop({ forget: true });
});
