/**
 * Similar features against a real PostgreSQL, the real stories260K model and its fixture SAE (`l2`): a whole-SAE
 * dashboard run stores the neighbours within the SAE and in the other SAEs of the model (nearest layers first, at most
 * four, the same d_in), the other SAEs' neighbours in it too; a one-feature recompute keeps them; the feature page
 * lists them with their labels, grouped, leaving out an SAE the viewer may not see; two completions writing the same
 * set take turns; an SAE to compare with that cannot be loaded fails the run by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarFeatures } from '@/drizzle/schema';
import { jobKinds } from '@/jobs';
import { getDb, getPool, withTransaction } from '@/server/db';
import { loadCorpusContexts } from '@/server/corpora';
import type { ModelRow } from '@/server/models';
import { registerModel } from '@/server/register-models';
import { registerSae } from '@/server/register-saes';
import type { SaeRow } from '@/server/saes';
import { replaceNeighbourSets } from '@/server/similar-features';
import { setAccess } from '@/server/teams';
import { signUp, type UserRow } from '@/server/users';
import { computeAndStoreDashboards } from '@/worker/jobs/dashboards';
import { getModel, getSae } from '@/worker/model-cache';
import { initBackend } from '@/compute/backend';
import { gaussian, permutation, seededRandom } from '@/compute/random';
import { loadSae } from '@/compute/sae/load';
import { writeSaeLensDirectory } from '@/compute/sae/save';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards, STORIES_SAE_DIR } from '../helpers/stories';
import { STORIES_DIR } from '../shared';

const D_MODEL = 64;
const D_MLP = 172;
const FEATURES = 256;
const K = 10;

let database: TestDatabase;
let dir: string;
let admin: UserRow;
let editor: UserRow;
let model: ModelRow;
let l2: SaeRow;
/** l2's decoder rows, in another order and twice as long: each l2 feature f has its twin twin[f] */
let twin: Uint32Array;
let l2Decoder: Float32Array;
const others: Record<string, SaeRow> = {};

/** A SAELens directory at `hookName`: the given decoder rows (or seeded random ones), random encoder. */
async function writeSae(name: string, hookName: string, dIn: number, dSae: number, decoder?: Float32Array): Promise<string> {
  const random = seededRandom(name.length * 7919 + dSae);
  const out = path.join(dir, name);
  await writeSaeLensDirectory(
    out,
    { W_enc: gaussian(random, dIn * dSae), W_dec: decoder ?? gaussian(random, dSae * dIn), b_enc: new Float32Array(dSae), b_dec: new Float32Array(dIn) },
    { architecture: 'standard', modelName: 'stories260K', hookName, prependBos: true, contextSize: 64, datasetPath: 'synthetic' },
  );
  return out;
}

async function setCount(saeId: string, otherSaeId: string, kind: 'decoder' | 'encoder'): Promise<number> {
  const [row] = await getDb()
    .select({ n: sql<number>`count(*)::int` })
    .from(similarFeatures)
    .where(and(eq(similarFeatures.saeId, saeId), eq(similarFeatures.otherSaeId, otherSaeId), eq(similarFeatures.kind, kind)));
  return row!.n;
}

function cosine(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let t = 0; t < D_MODEL; t++) {
    dot += a[i * D_MODEL + t]! * b[j * D_MODEL + t]!;
    na += a[i * D_MODEL + t]! ** 2;
    nb += b[j * D_MODEL + t]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

beforeAll(async () => {
  database = await startTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-similar-'));
  await initBackend();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  model = await registerModel(getDb(), STORIES_DIR);
  const fixture = await loadSae(STORIES_SAE_DIR);
  l2Decoder = Float32Array.from(fixture.weights.W_dec.dataSync());
  fixture.dispose();
  twin = permutation(seededRandom(5), FEATURES);
  const twins = new Float32Array(FEATURES * D_MODEL);
  for (let f = 0; f < FEATURES; f++) twins.set(l2Decoder.subarray(f * D_MODEL, (f + 1) * D_MODEL).map((v) => 2 * v), twin[f]! * D_MODEL);
  // layer 2 first (distance 0), then 1 and 3, then 0 (before 4: the lower layer); 4 is the fifth and left out, the MLP
  // SAE reads another width
  const saes: [slug: string, hook: string, dIn: number, dSae: number, decoder?: Float32Array][] = [
    ['twin', 'blocks.2.hook_resid_pre', D_MODEL, FEATURES, twins],
    ['l1', 'blocks.1.hook_resid_post', D_MODEL, 128],
    ['l3', 'blocks.3.hook_resid_post', D_MODEL, 96],
    ['l0', 'blocks.0.hook_resid_post', D_MODEL, 64],
    ['l4', 'blocks.4.hook_resid_post', D_MODEL, 64],
    ['mlp2', 'blocks.2.mlp.hook_post', D_MLP, 64],
  ];
  for (const [slug, hook, dIn, dSae, decoder] of saes) {
    others[slug] = await registerSae(getDb(), model, await writeSae(slug, hook, dIn, dSae, decoder), { slug });
  }
  // the labels the page shows beside the neighbours
  for (let f = 0; f < 4; f++) {
    await callerFor(admin).feature.edit({ model: 'stories260K', sae: 'twin', index: twin[f]!, label: `twin of ${f}`, body: '', baseRevision: 0 });
  }
  await setAccess(admin, 'sae', others.l3!.id, { teamId: null, visibility: 'private' }, 'SAE l3');
  ({ saeRow: l2 } = await seedStoriesDashboards(getDb()));
}, 300_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('similar features in a whole-SAE dashboard run', () => {
  it('stores k neighbours per feature within the SAE (decoder and encoder) and in the four nearest other SAEs of its width', async () => {
    expect(await setCount(l2.id, l2.id, 'decoder')).toBe(FEATURES * K);
    expect(await setCount(l2.id, l2.id, 'encoder')).toBe(FEATURES * K);
    for (const slug of ['twin', 'l1', 'l3', 'l0']) expect(await setCount(l2.id, others[slug]!.id, 'decoder'), slug).toBe(FEATURES * K);
    // the fifth nearest, and the SAE of another width, are not compared
    expect(await setCount(l2.id, others.l4!.id, 'decoder')).toBe(0);
    expect(await setCount(l2.id, others.mlp2!.id, 'decoder')).toBe(0);
    // the other direction came from the same blocks: each compared SAE's features have their neighbours in l2
    expect(await setCount(others.twin!.id, l2.id, 'decoder')).toBe(FEATURES * K);
    expect(await setCount(others.l1!.id, l2.id, 'decoder')).toBe(128 * K);
    expect(await setCount(others.l4!.id, l2.id, 'decoder')).toBe(0);
  });

  it('ranks by cosine: a feature’s nearest decoder rows are those a brute-force comparison finds, and its twin comes first', async () => {
    const stored = await getDb()
      .select()
      .from(similarFeatures)
      .where(and(eq(similarFeatures.saeId, l2.id), eq(similarFeatures.otherSaeId, l2.id), eq(similarFeatures.kind, 'decoder'), eq(similarFeatures.index, 7)))
      .orderBy(similarFeatures.rank);
    const brute = Array.from({ length: FEATURES }, (_, j) => ({ j, c: cosine(l2Decoder, 7, l2Decoder, j) }))
      .filter((x) => x.j !== 7)
      .sort((a, b) => b.c - a.c)
      .slice(0, K);
    expect(stored.map((r) => r.otherIndex)).toEqual(brute.map((x) => x.j));
    stored.forEach((r, i) => expect(r.cosine).toBeCloseTo(brute[i]!.c, 5));

    const [first] = await getDb()
      .select()
      .from(similarFeatures)
      .where(and(eq(similarFeatures.saeId, l2.id), eq(similarFeatures.otherSaeId, others.twin!.id), eq(similarFeatures.index, 7), eq(similarFeatures.rank, 0)));
    expect(first).toMatchObject({ otherIndex: twin[7], cosine: expect.closeTo(1, 5) });
    const [back] = await getDb()
      .select()
      .from(similarFeatures)
      .where(and(eq(similarFeatures.saeId, others.twin!.id), eq(similarFeatures.otherSaeId, l2.id), eq(similarFeatures.index, twin[7]!), eq(similarFeatures.rank, 0)));
    expect(back).toMatchObject({ otherIndex: 7, cosine: expect.closeTo(1, 5) });
  });

  it('keeps the neighbours through a one-feature recompute', async () => {
    const before = await getDb().select().from(similarFeatures).where(eq(similarFeatures.saeId, l2.id)).orderBy(similarFeatures.otherSaeId, similarFeatures.kind, similarFeatures.index, similarFeatures.rank);
    const lm = await getModel(model.path, model.contentHash);
    const [corpus] = await getDb().query.corpora.findMany({ where: (c, { eq: is }) => is(c.modelId, model.id) });
    expect((await loadCorpusContexts(getDb(), corpus!.id)).length).toBeGreaterThan(0);
    await computeAndStoreDashboards({
      db: getDb(),
      model: lm,
      sae: await getSae(l2.path, l2.contentHash, lm),
      modelRow: model,
      saeRow: l2,
      corpus: corpus!,
      params: jobKinds.dashboards.params.parse({ saeId: l2.id, corpusId: corpus!.id, features: [7] }),
      jobId: null,
    });
    const after = await getDb().select().from(similarFeatures).where(eq(similarFeatures.saeId, l2.id)).orderBy(similarFeatures.otherSaeId, similarFeatures.kind, similarFeatures.index, similarFeatures.rank);
    expect(after).toEqual(before);
  });
});

describe('storing neighbour sets', () => {
  it('lets two completions replace the same set at once: one after the other, never a duplicate row', async () => {
    const k = 3;
    const set = (shift: number) => ({
      saeId: others.l4!.id,
      otherSaeId: l2.id,
      kind: 'decoder' as const,
      neighbours: { k, indices: Int32Array.from({ length: 64 * k }, (_, i) => (i + shift) % FEATURES), cosines: new Float32Array(64 * k).fill(0.5) },
    });
    let second: Promise<void> | undefined;
    await withTransaction(async (tx) => {
      await replaceNeighbourSets(tx, [set(1)]);
      // the second completion starts while the first has written its set and not yet committed
      second = withTransaction((other) => replaceNeighbourSets(other, [set(2)]));
      await new Promise((resolve) => setTimeout(resolve, 500));
    });
    await second;
    const rows = await getDb().select().from(similarFeatures).where(and(eq(similarFeatures.saeId, others.l4!.id), eq(similarFeatures.otherSaeId, l2.id)));
    expect(rows.length).toBe(64 * k);
    // all from the second set, which replaced the first once it was committed
    expect(new Set(rows.map((r) => (r.otherIndex - r.index * k - r.rank + FEATURES) % FEATURES))).toEqual(new Set([2]));
    await getDb().delete(similarFeatures).where(eq(similarFeatures.saeId, others.l4!.id));
  });
});

describe('the feature page’s similar features', () => {
  it('groups them: this SAE by decoder, by encoder, then the other SAEs nearest layer first, with labels', async () => {
    const page = await callerFor(admin).feature.get({ model: 'stories260K', sae: 'l2', index: 2 });
    expect(page.similar.map((g) => `${g.kind} ${g.sae.slug}${g.same ? ' (same)' : ''}`)).toEqual([
      'decoder l2 (same)',
      'encoder l2 (same)',
      'decoder twin',
      'decoder l1',
      'decoder l3',
      'decoder l0',
    ]);
    expect(page.similar.every((g) => g.neighbours.length === K)).toBe(true);
    const twinGroup = page.similar.find((g) => g.sae.slug === 'twin')!;
    expect(twinGroup.sae.hookName).toBe('blocks.2.hook_resid_pre');
    expect(twinGroup.neighbours[0]).toEqual({ index: twin[2], cosine: expect.closeTo(1, 5), label: 'twin of 2' });
    expect(twinGroup.neighbours.slice(1).every((n) => n.cosine <= twinGroup.neighbours[0]!.cosine)).toBe(true);
  });

  it('leaves out an SAE the viewer may not see', async () => {
    for (const viewer of [editor, null]) {
      const page = await callerFor(viewer).feature.get({ model: 'stories260K', sae: 'l2', index: 2 });
      expect(page.similar.map((g) => g.sae.slug)).toEqual(['l2', 'l2', 'twin', 'l1', 'l0']);
    }
  });
});

describe('an SAE to compare with that cannot be loaded', () => {
  it('fails the run with a message naming it; the neighbours stored before stay', async () => {
    const before = await getDb().select({ n: sql<number>`count(*)::int` }).from(similarFeatures);
    fs.rmSync(path.join(dir, 'l0', 'sae_weights.safetensors'));
    const lm = await getModel(model.path, model.contentHash);
    const [corpus] = await getDb().query.corpora.findMany({ where: (c, { eq: is }) => is(c.modelId, model.id) });
    const run = computeAndStoreDashboards({
      db: getDb(),
      model: lm,
      sae: await getSae(l2.path, l2.contentHash, lm),
      modelRow: model,
      saeRow: l2,
      corpus: corpus!,
      params: jobKinds.dashboards.params.parse({ saeId: l2.id, corpusId: corpus!.id }),
      jobId: null,
    });
    await expect(run).rejects.toThrow(/^similar features: SAE "l0" of this model, compared by decoder, could not be loaded: /);
    expect(await getDb().select({ n: sql<number>`count(*)::int` }).from(similarFeatures)).toEqual(before);
  });
});
