/**
 * `lexicon dashboards` runs a dashboards job in its own process (a real command-line process against a real embedded
 * PostgreSQL, the real stories260K model and fixture SAE). Interrupted (SIGINT, SIGTERM), it cancels its job as the
 * pages' Cancel does: no run or shard is left for nobody. While its job runs it holds a LISTEN connection, as a worker
 * does, and closes it when cancelled. Killed outright, its job is an orphan once its heartbeat stops, and a worker
 * takes it over and completes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dashboardRuns, dashboardShards, jobs } from '@/drizzle/schema';
import { storeCorpus } from '@/server/corpora';
import { getDb, getPool } from '@/server/db';
import { listenerName } from '@/server/events';
import { getJob, type JobRow } from '@/server/jobs';
import type { ProgressDetail } from '@/jobs/types';
import { sampleModelCorpus } from '@/compute/corpus/sampled';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesCorpus } from '../helpers/stories';
import { startWorker, waitFor, type TestWorker } from '../helpers/worker';

const LEXICON = path.resolve(import.meta.dirname, '../../bin/lexicon.mjs');
/** a dead process is noticed within seconds instead of 30 */
const TIMEOUT_ENV = { LEXICON_WORKER_TIMEOUT_S: '3' };

let database: TestDatabase;
let worker: TestWorker | undefined;
let cli: ChildProcess | undefined;

beforeAll(async () => {
  database = await startTestDatabase();
  const { modelRow, model } = await seedStoriesCorpus(getDb());
  // long enough (one context per forward pass) to be caught running
  const sampled = await sampleModelCorpus(model, { documents: 200, maxTokens: 8192, documentTokens: 256, contextSize: 128, prependBos: true, seed: 5, temperature: 1 });
  await storeCorpus({ modelId: modelRow.id, name: 'sampled', contexts: sampled.contexts, contextSize: 128, prependBos: true, source: sampled.source });
}, 180_000);

afterAll(async () => {
  cli?.kill('SIGKILL');
  await worker?.stop('SIGKILL');
  await getPool().end();
  await database?.stop();
});

/** `lexicon dashboards` over the sampled corpus, one context per forward pass; its output, and its exit code when it ends. */
function startCli(): { output(): string; exited: Promise<number | null> } {
  cli = spawn(process.execPath, [LEXICON, 'dashboards', '--model', 'stories260K', '--sae', 'l2', '--corpus', 'sampled', '--batch', '1'], {
    env: { ...process.env, ...TIMEOUT_ENV, DATABASE_URL: database.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  cli.stdout!.on('data', (d) => (output += d));
  cli.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => cli!.once('exit', (code) => resolve(code)));
  return { output: () => output, exited };
}

/** The command line's job, once it runs through the corpus: run by the command line itself, under its own heartbeat. */
async function runningJob(output: () => string): Promise<JobRow> {
  return waitFor(
    async () => {
      const [job] = await getDb().select().from(jobs).where(eq(jobs.workerId, `cli:${cli!.pid}`));
      if (job && job.status !== 'running') throw new Error(`job ${job.id} ended (${job.status}) before it was seen running:\n${output()}`);
      return ((job?.progressDetail as ProgressDetail | null)?.tokensDone ?? 0) > 0 ? job : undefined;
    },
    'the command line’s job to run',
    120_000,
  );
}

async function runsOf(jobId: string) {
  return getDb().select({ id: dashboardRuns.id, status: dashboardRuns.status }).from(dashboardRuns).where(eq(dashboardRuns.jobId, jobId));
}

/** The backends of `pid`'s LISTEN connections (server/events.ts names them). */
async function listenersOf(pid: number): Promise<number> {
  const { rows } = await getPool().query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [listenerName(pid)]);
  return rows[0]!.n;
}

it.each(['SIGINT', 'SIGTERM'] as const)('%s cancels its job as the pages’ Cancel does: no run or shard is left behind', async (signal) => {
  const { output, exited } = startCli();
  const job = await runningJob(output);
  const [run] = await runsOf(job.id);
  expect(run?.status).toBe('running');
  // it listens while its job runs, as a worker does: woken by the end of a shard computed elsewhere, not by a poll
  const pid = cli!.pid!;
  expect(await listenersOf(pid)).toBe(1);
  cli!.kill(signal);

  expect(await exited, output()).toBe(1);
  await waitFor(async () => ((await listenersOf(pid)) === 0 ? true : undefined), 'the command line’s LISTEN connection to close');
  expect(output()).toContain(`${signal}: the dashboards job ${job.id} is cancelled; its unfinished run is deleted`);
  expect((await getJob(getDb(), job.id))!.status).toBe('cancelled');
  expect(await runsOf(job.id)).toEqual([]);
  const [{ n }] = (await getDb().execute<{ n: number }>(sql`select count(*)::int as n from ${dashboardShards} where ${dashboardShards.runId} = ${run!.id}`)).rows;
  expect(n).toBe(0);
}, 240_000);

it('killed outright, its job is an orphan once its heartbeat stops, and a worker takes it over and completes it', async () => {
  const { output, exited } = startCli();
  const job = await runningJob(output);
  cli!.kill('SIGKILL');
  await exited;
  // nobody runs it now: its record still says running, under the dead process's heartbeat
  expect((await getJob(getDb(), job.id))!).toMatchObject({ status: 'running', workerId: job.workerId });

  worker = await startWorker(database.url, { ...TIMEOUT_ENV, LEXICON_DATA_DIR: path.join(database.dir, 'data') });
  const done = await waitFor(
    async () => {
      const row = await getJob(getDb(), job.id);
      return row && row.status !== 'queued' && row.status !== 'running' ? row : undefined;
    },
    'the worker to complete the orphaned job',
    180_000,
  );
  expect(done.error, worker.output()).toBeNull();
  expect(done.status).toBe('done');
  expect(done.workerId).not.toBe(job.workerId);
  // the dead attempt's run was dropped when the worker began again: one complete run, the SAE's current one
  expect((await runsOf(job.id)).map((r) => r.status)).toEqual(['complete']);
}, 300_000);
