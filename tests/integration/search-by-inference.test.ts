/**
 * Search by inference below the browser: the model-wide mutation enqueues one top-features job per SAE the viewer may
 * compute on, the worker's handler (run in this process through executeJob) ranks with the real stories260K model
 * and the fixture SAE, and asking again reuses the finished job for the same SAE, SAE content and options.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, resourceAccess, saes } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { getQueue } from '@/server/jobs/queue';
import { registerSae } from '@/server/register-saes';
import { MAX_SEARCHED_SAES } from '@/server/search-by-inference';
import { signUp, type UserRow } from '@/server/users';
import { initBackend } from '@/compute/backend';
import { executeJob } from '@/worker/jobs';
import { parseResult } from '@/jobs';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards, STORIES_SAE_DIR } from '../helpers/stories';

let database: TestDatabase;
let editor: UserRow;
let other: UserRow;
let backend: string;
let l2: { id: string; currentRunId: string | null };
const TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play with her ball.';

/** Runs a job in this process as a worker would, and returns its record. */
async function execute(id: string) {
  await executeJob(getDb(), { id: 'test-worker', backend }, id);
  return (await getDb().query.jobs.findFirst({ where: eq(jobs.id, id) }))!;
}

beforeAll(async () => {
  database = await startTestDatabase();
  backend = await initBackend();
  await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' }); // the first account, admin
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
  other = await signUp({ name: 'Olga', email: 'olga@example.org', password: 'correct horse' });
  const { modelRow, saeRow } = await seedStoriesDashboards(getDb());
  l2 = (await getDb().query.saes.findFirst({ where: eq(saes.id, saeRow.id) }))!; // with its dashboard run
  // the same weights again without dashboards, and one only its owner sees
  await registerSae(getDb(), modelRow, STORIES_SAE_DIR, { slug: 'l2-copy' });
  const hidden = await registerSae(getDb(), modelRow, STORIES_SAE_DIR, { slug: 'l2-hidden' });
  await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: hidden.id, ownerId: other.id, visibility: 'private' });
}, 300_000);

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('search by inference over all SAEs of a model', () => {
  it('runs one job per SAE the viewer may compute on, each with labels and the density of its current run', async () => {
    const ask = { model: 'stories260K', input: { text: TEXT }, top: 10, rank: 'sum' as const };
    await expect(callerFor(null).model.topFeatures(ask)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const searched = await callerFor(editor).model.topFeatures(ask);
    expect(searched.capped).toBe(0);
    expect(searched.saes.map((s) => [s.sae, s.cached])).toEqual([
      ['l2', false],
      ['l2-copy', false],
    ]);
    const [withRun, copy] = await Promise.all(searched.saes.map(async (s) => parseResult('top-features', (await execute(s.id)).result)));
    // the same weights rank the same features, by their sums
    expect(copy!.features.map((f) => f.feature)).toEqual(withRun!.features.map((f) => f.feature));
    const sums = withRun!.features.map((f) => f.sum);
    expect(sums).toEqual([...sums].sort((a, b) => b - a));
    expect(withRun!.densityRun).toBe(l2.currentRunId);
    expect(l2.currentRunId).not.toBeNull();
    expect(withRun!.features.every((f) => f.density !== null && f.density > 0)).toBe(true);
    expect(copy!.densityRun).toBeNull();
    expect(copy!.features.every((f) => f.density === null)).toBe(true);

    // the owner of the hidden SAE searches it too
    expect((await callerFor(other).model.topFeatures(ask)).saes.map((s) => s.sae)).toEqual(['l2', 'l2-copy', 'l2-hidden']);
  });
});

describe('the cache of finished searches', () => {
  const ask = { model: 'stories260K', sae: 'l2', input: { text: TEXT }, top: 5, positions: [4, 2] };

  it('reuses a finished job for the same SAE, content and options, and runs a new one when any differs', async () => {
    const first = await callerFor(editor).sae.topFeatures(ask);
    expect(first.cached).toBe(false);
    // not yet finished: a second ask runs again
    expect((await callerFor(editor).sae.topFeatures(ask)).cached).toBe(false);
    const done = parseResult('top-features', (await execute(first.id)).result);
    expect(done.positions).toEqual([2, 4]);

    expect(await callerFor(editor).sae.topFeatures(ask)).toEqual({ id: first.id, cached: true });
    // the defaults spelled out are the same options
    expect(await callerFor(editor).sae.topFeatures({ ...ask, rank: 'max', ignoreBos: true })).toEqual({ id: first.id, cached: true });
    expect((await callerFor(editor).sae.topFeatures({ ...ask, ignoreBos: false })).cached).toBe(false);
    expect((await callerFor(editor).sae.topFeatures({ ...ask, input: { text: `${TEXT} ` } })).cached).toBe(false);
    // another account may not read the editor's job: it runs its own
    expect((await callerFor(other).sae.topFeatures(ask)).cached).toBe(false);
  });

  it('does not reuse a job once the SAE’s weights, its current dashboard run or a label changed', async () => {
    const first = await callerFor(editor).sae.topFeatures({ ...ask, top: 6 });
    await execute(first.id);
    const again = () => callerFor(editor).sae.topFeatures({ ...ask, top: 6 });
    expect(await again()).toEqual({ id: first.id, cached: true });

    const sae = (await getDb().query.saes.findFirst({ where: eq(saes.id, l2.id) }))!;
    await getDb().update(saes).set({ contentHash: 'other weights' }).where(eq(saes.id, l2.id));
    expect((await again()).cached).toBe(false);
    await getDb().update(saes).set({ contentHash: sae.contentHash, currentRunId: null }).where(eq(saes.id, l2.id));
    expect((await again()).cached).toBe(false);
    await getDb().update(saes).set({ currentRunId: sae.currentRunId }).where(eq(saes.id, l2.id));
    expect(await again()).toEqual({ id: first.id, cached: true });

    await callerFor(editor).feature.edit({ model: 'stories260K', sae: 'l2', index: 0, label: 'something', body: '', baseRevision: 0 });
    expect((await again()).cached).toBe(false);
  });
});

describe('a model with more SAEs than are searched at once', () => {
  it('searches the first MAX_SEARCHED_SAES in hook order and says how many were left out', async () => {
    // rows only: these jobs are enqueued, never run
    const { id: _id, slug: _slug, createdAt: _createdAt, ...row } = (await getDb().query.saes.findFirst({ where: eq(saes.id, l2.id) }))!;
    await getDb()
      .insert(saes)
      .values(Array.from({ length: MAX_SEARCHED_SAES }, (_, k) => ({ ...row, slug: `more-${String(k).padStart(2, '0')}` })));
    const fresh = await signUp({ name: 'Fay', email: 'fay@example.org', password: 'correct horse' });
    const searched = await callerFor(fresh).model.topFeatures({ model: 'stories260K', input: { text: TEXT } });
    expect(searched.saes).toHaveLength(MAX_SEARCHED_SAES);
    expect(searched.capped).toBe(2); // l2, l2-copy and the extra rows, less the hidden one, past the cap
    expect(searched.saes.slice(0, 3).map((s) => s.sae)).toEqual(['l2', 'l2-copy', 'more-00']);
  });
});
