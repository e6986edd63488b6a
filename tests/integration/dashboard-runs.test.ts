/**
 * Dashboard runs over several corpora: an SAE keeps its latest run per corpus, a run over far fewer tokens is kept
 * but not made current, and maintainers switch the current run back, against a real PostgreSQL.
 */
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeCorpus } from '@/server/corpora';
import { beginRun, completeRun, storeFeatureDashboards } from '@/server/dashboards';
import { getDb, getPool } from '@/server/db';
import { signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;
const address = { model: 'runs', sae: 'res' };

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  model = await seedSyntheticModel(getDb(), { slug: 'runs', saes: [{ slug: 'res', hookName: 'blocks.1.hook_resid_post', dSae: 24 }], nTokens: 100_000 });
}, 120_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

/** A complete run of the synthetic SAE over a new corpus of `contexts` contexts, said to span nTokens tokens. */
async function runOver(name: string, nTokens: number, corpusId?: string) {
  const sae = model.saes[0]!;
  const corpus = corpusId
    ? { id: corpusId }
    : await storeCorpus({ modelId: model.id, name, contexts: [[1, 2, 3, name.length + 4]], contextSize: 4, prependBos: true, source: { test: name } });
  const run = await beginRun(getDb(), { saeId: sae.id, corpusId: corpus.id, jobId: null, params: {} });
  await storeFeatureDashboards(getDb(), run.id, sae.id, sae.dashboards);
  const completion = await completeRun(run.id, { evals: null, timings: {}, nTokens, subset: false });
  return { runId: run.id, corpusId: corpus.id, completion };
}

const overview = () => callerFor(admin).sae.overview(address);

describe('dashboard runs', () => {
  it('keeps a run per corpus, keeps a far smaller run beside the current one, and lets maintainers switch', async () => {
    const first = model.saes[0]!.runId;

    // 256 tokens against 100,000: kept, not current, and the caller is told why.
    const tiny = await runOver('tiny', 256);
    expect(tiny.completion).toEqual({ current: false, keptCurrentTokens: 100_000 });
    let o = await overview();
    expect(o.run?.id).toBe(first);
    expect(o.runs.map((r) => [r.id, r.current, r.nTokens])).toEqual([
      [tiny.runId, false, 256],
      [first, true, 100_000],
    ]);
    expect(o.runs[0]!.corpus.name).toBe('tiny');

    // A run over a comparable corpus becomes current; the earlier ones stay.
    const other = await runOver('other', 50_000);
    expect(other.completion).toEqual({ current: true });
    o = await overview();
    expect(o.run?.id).toBe(other.runId);
    expect(o.runs.map((r) => r.id).sort()).toEqual([first, tiny.runId, other.runId].sort());

    // Another run over the same corpus replaces the older one over it (one per corpus).
    const again = await runOver('other', 50_000, other.corpusId);
    o = await overview();
    expect(o.run?.id).toBe(again.runId);
    expect(o.runs.map((r) => r.id).sort()).toEqual([first, tiny.runId, again.runId].sort());

    // A maintainer (here the admin) switches back to the first corpus; the feature pages read it at once.
    await callerFor(admin).sae.setCurrentRun({ ...address, runId: first });
    o = await overview();
    expect(o.run?.id).toBe(first);
    expect(o.runs.find((r) => r.current)?.id).toBe(first);
    const feature = await callerFor(null).feature.get({ ...address, index: 3 });
    expect(feature.stats?.nTokens).toBe(model.saes[0]!.dashboards[3]!.nTokens);

    // An editor may not; a run of another SAE, or no run, is NOT_FOUND; nothing changed.
    await expect(callerFor(editor).sae.setCurrentRun({ ...address, runId: tiny.runId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerFor(admin).sae.setCurrentRun({ ...address, runId: crypto.randomUUID() })).rejects.toThrow(TRPCError);
    await expect(callerFor(admin).sae.setCurrentRun({ ...address, runId: crypto.randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await overview()).run?.id).toBe(first);
  });
});
