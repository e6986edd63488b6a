/**
 * The feature page's validator (server/http-cache.ts) against a real PostgreSQL: the same while nothing shown
 * changes, a new one after each kind of change the page shows (a label edit, a comment and its deletion, a label
 * proposal and a vote, a hypothesis and its votes, a new dashboard run, a recompute, a neighbour's label), none for a
 * page an anonymous reader may not see.
 * The HTTP side (304 without a render, the headers, a browser revalidating under the CSP) is tests/e2e/caching.spec.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarFeatures } from '@/drizzle/schema';
import { beginRun, completeRun, storeFeatureDashboards } from '@/server/dashboards';
import { getDb, getPool } from '@/server/db';
import { featureAddressOf, featurePageValidator, ifNoneMatchHits } from '@/server/http-cache';
import { setAccess } from '@/server/teams';
import { signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;
const address = { model: 'synth', sae: '1-res', index: 4 };
const validator = () => featurePageValidator(getDb(), address);

beforeAll(async () => {
  // the build id is part of every validator; a test has no build of its own
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-http-cache-'));
  fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'test-build');
  process.env.LEXICON_NEXT_DIST_DIR = dist;
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  model = await seedSyntheticModel(getDb(), {
    slug: 'synth',
    saes: [
      { slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 20 },
      { slug: '2-res', hookName: 'blocks.2.hook_resid_post', dSae: 20 },
    ],
    topExamples: 2,
    seed: 5,
  });
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

/** Runs `change` and expects the validator to differ afterwards (and to hold still while nothing changes). */
async function expectChangedBy(change: () => Promise<unknown>): Promise<void> {
  const before = await validator();
  expect(await validator()).toBe(before);
  await change();
  const after = await validator();
  expect(after).toMatch(/^W\/"[\w-]{27}"$/);
  expect(after).not.toBe(before);
}

describe('featurePageValidator', () => {
  it('changes with a label edit, a comment and its deletion, a proposal and a vote, a hypothesis and its votes', async () => {
    const caller = callerFor(editor);
    await expectChangedBy(() => caller.feature.edit({ ...address, label: 'dogs', body: 'Fires on *dog*.', baseRevision: 0 }));
    let comment: { id: string } | undefined;
    await expectChangedBy(async () => (comment = await caller.comment.post({ target: { kind: 'feature', saeId: model.saes[0]!.id, index: address.index }, body: 'a first look' })));
    await expectChangedBy(() => caller.comment.delete({ id: comment!.id }));
    let proposal: { id: string } | undefined;
    await expectChangedBy(async () => (proposal = await caller.wiki.propose({ ...address, label: 'canines' })));
    await expectChangedBy(() => callerFor(admin).wiki.vote({ ...address, proposalId: proposal!.id }));
    await expectChangedBy(() => callerFor(admin).wiki.unvote(address));
    let hypothesis: { id: string } | undefined;
    await expectChangedBy(async () => (hypothesis = await caller.hypothesis.create({ statement: 'Feature 4 fires on dogs', features: [`synth/1-res/${address.index}`] })));
    await expectChangedBy(() => callerFor(admin).hypothesis.vote({ id: hypothesis!.id, value: 1 }));
    await expectChangedBy(() => callerFor(admin).hypothesis.vote({ id: hypothesis!.id, value: -1 }));
  });

  it('changes with a new dashboard run, a recompute of the feature, and a similar feature’s label', async () => {
    const sae = model.saes[0]!;
    const corpusId = (await getDb().query.dashboardRuns.findFirst({ where: (r, { eq }) => eq(r.id, sae.runId) }))!.corpusId;
    /** a run over these features: the whole SAE (a new current run) or a subset (moved into the current one) */
    const dashboards = async (subset: boolean) => {
      const run = await beginRun(getDb(), { saeId: sae.id, corpusId, jobId: null, params: {} });
      await storeFeatureDashboards(getDb(), run.id, sae.id, subset ? [sae.dashboards[address.index]!] : sae.dashboards);
      await completeRun(run.id, { evals: null, timings: {}, nTokens: 1_000_000, subset });
    };
    await expectChangedBy(() => dashboards(false));
    await expectChangedBy(() => dashboards(true));
    const other = model.saes[1]!;
    await getDb().insert(similarFeatures).values({ saeId: sae.id, index: address.index, kind: 'decoder', otherSaeId: other.id, otherIndex: 9, cosine: 0.9, rank: 0 });
    await expectChangedBy(() => callerFor(editor).feature.edit({ model: 'synth', sae: '2-res', index: 9, label: 'cats', body: '', baseRevision: 0 }));
  });

  it('is none for a feature page an anonymous reader may not see, or that does not exist', async () => {
    expect(await featurePageValidator(getDb(), { ...address, sae: 'no-such-sae' })).toBeNull();
    expect(await featurePageValidator(getDb(), { ...address, model: 'no-such-model' })).toBeNull();
    expect(await featurePageValidator(getDb(), { ...address, index: 20 }), 'past d_sae').toBeNull();
    await setAccess(admin, 'sae', model.saes[0]!.id, { teamId: null, visibility: 'private' }, 'SAE 1-res');
    expect(await validator()).toBeNull();
    await setAccess(admin, 'sae', model.saes[0]!.id, { teamId: null, visibility: 'public' }, 'SAE 1-res');
    expect(await validator()).not.toBeNull();
    await setAccess(admin, 'model', model.id, { teamId: null, visibility: 'private' }, 'model synth');
    expect(await validator()).toBeNull();
  });
});

describe('feature addresses and If-None-Match', () => {
  it('reads a feature address from a path, and nothing from other paths', () => {
    expect(featureAddressOf('/stories260K/l2/17')).toEqual({ model: 'stories260K', sae: 'l2', index: 17 });
    expect(featureAddressOf('/a%20b/l2/0')).toEqual({ model: 'a b', sae: 'l2', index: 0 });
    for (const other of ['/stories260K/l2', '/stories260K/l2/17/history', '/stories260K/l2/features', '/m/s/99999999999', '/m/s/-1', '/m/%E0%A4/1'])
      expect(featureAddressOf(other), other).toBeNull();
  });

  it('matches an ETag in a list, weak or not, and *', () => {
    const etag = 'W/"abc"';
    expect(ifNoneMatchHits('W/"abc"', etag)).toBe(true);
    expect(ifNoneMatchHits('"x", "abc"', etag)).toBe(true);
    expect(ifNoneMatchHits('*', etag)).toBe(true);
    expect(ifNoneMatchHits('W/"abd"', etag)).toBe(false);
    expect(ifNoneMatchHits(null, etag)).toBe(false);
  });
});
