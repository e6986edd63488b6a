/**
 * `npm run worker -- --concurrency N`: N worker processes under one supervising process, against a real database.
 * Each beats its own heartbeat; one that dies is replaced; a signal stops them all, and each forgets its row.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { startWorker, waitFor, type TestWorker } from '../helpers/worker';

let database: TestDatabase;
let client: pg.Client;
let supervisor: TestWorker | undefined;

beforeAll(async () => {
  database = await startTestDatabase();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
});

afterAll(async () => {
  await supervisor?.stop('SIGKILL');
  await client?.end();
  await database?.stop();
});

const workerRows = async () => (await client.query<{ id: string; pid: number }>('select id, pid from worker order by started_at')).rows;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('runs N processes, replaces one that dies, and stops them all on SIGTERM', async () => {
  supervisor = await startWorker(database.url, {}, { concurrency: 2 });
  const first = await workerRows();
  expect(first).toHaveLength(2);
  expect(new Set(first.map((w) => w.pid)).size).toBe(2);
  expect(first.every((w) => w.pid !== supervisor!.process.pid && alive(w.pid))).toBe(true);

  // A worker killed outright leaves its row (it could not say goodbye); the supervisor starts another in its place.
  process.kill(first[0]!.pid, 'SIGKILL');
  const replacement = await waitFor(async () => (await workerRows()).find((w) => !first.some((f) => f.id === w.id)), 'a replacement worker', 90_000);
  expect(alive(replacement.pid)).toBe(true);
  expect(alive(first[1]!.pid)).toBe(true);
  expect(supervisor.output()).toContain('exited SIGKILL: starting another');
  // (a signal before a worker is ready ends it without its goodbye: wait for the replacement to be ready)
  await waitFor(async () => (supervisor!.output().split(' ready (').length > 3 ? true : undefined), 'the replacement ready', 90_000);

  const exit = new Promise<number | null>((resolve) => supervisor!.process.once('exit', (code) => resolve(code)));
  supervisor.process.kill('SIGTERM');
  expect(await exit).toBe(0);
  expect(alive(replacement.pid) || alive(first[1]!.pid)).toBe(false);
  // the live ones forgot their rows on the way out; only the killed one's is left, for the orphan sweep
  expect((await workerRows()).map((w) => w.id)).toEqual([first[0]!.id]);
}, 180_000);

it('refuses a bad --concurrency, and stops when its processes cannot start', async () => {
  await expect(startWorker(database.url, {}, { concurrency: 0 })).rejects.toThrow(/--concurrency must be a whole number of processes ≥ 1, got "0"/);
  await expect(startWorker('postgres://nobody@127.0.0.1:1/none', {}, { concurrency: 2 })).rejects.toThrow(/exited with 1 before it was ready: stopping/);
}, 120_000);
