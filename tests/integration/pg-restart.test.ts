/**
 * Restarting PostgreSQL while users post (tests/helpers/pg-restart.ts): every write either succeeds or throws, nothing
 * is half-written, and the same process (pool, LISTEN connection, live subscription) works again afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { eventHub } from '@/server/events';
import { signUp, type UserRow } from '@/server/users';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { formatFigures, restartScenario } from '../helpers/pg-restart';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
const users: UserRow[] = [];

beforeAll(async () => {
  database = await startTestDatabase();
  for (const name of ['Ada', 'Bo', 'Cy', 'Di']) users.push(await signUp({ name, email: `${name.toLowerCase()}@example.org`, password: 'correct horse' }));
  model = await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 32 }], topExamples: 2 });
  await eventHub().ready();
});

afterAll(async () => {
  await eventHub().close();
  await getPool().end();
  await database?.stop();
});

it('writers during a PostgreSQL restart get a success or an error, nothing is half-written, and the process recovers', async () => {
  const f = await restartScenario(
    database,
    { users, model: 'synth', sae: '1-res', saeId: model.saes[0]!.id, dSae: 32 },
    { writers: 12, readers: 4, durationMs: 6_000, restartAtMs: 2_000, downMs: 1_000 },
  );
  console.log(formatFigures(f));
  // the restart really happened under load: some writes failed, and writes succeeded before and after it
  expect(f.comments.failed + f.edits.failed).toBeGreaterThan(0);
  expect(f.comments.ok).toBeGreaterThan(20);
  expect(f.edits.ok).toBeGreaterThan(20);
  expect(f.firstWriteAfterMs).not.toBeNull();
  // nothing half-written
  expect(f.consistency).toMatchObject({ inconsistentPages: 0, commentsMissingLinks: 0, commentsMissingWatch: 0, orphanLinks: 0 });
  expect(f.consistency.pages).toBe(12 + 1); // each writer's feature, and the one edited after the restart
  // every write the clients were told succeeded is there (plus those that failed after committing)
  expect(f.consistency.comments).toBe(f.comments.ok + f.comments.failedButCommitted);
  expect(f.consistency.revisions).toBe(f.edits.ok + f.edits.failedButCommitted + 1);
  // reads were retried over the outage rather than failing at once
  expect(f.reads.retried).toBeGreaterThan(0);
  // no connection was lost to the pool: every client is back and idle
  const pool = getPool();
  expect(pool.idleCount).toBe(pool.totalCount);
  expect(f.after).toMatchObject({ write: true, read: true, subscriptionResynced: true });
});
