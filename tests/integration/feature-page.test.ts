/**
 * The feature page's data and its wiki layer against a real PostgreSQL: the one-statement read (getFeaturePage), the
 * label/description edit with its revision check (tRPC feature.edit, CONFLICT on a stale base), sanitised markdown,
 * the panels' job mutations, recomputed weights, and the vocabulary stored at model registration.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { featurePages, featureRevisions, jobs, modelVocabs, similarFeatures } from '@/drizzle/schema';
import { beginRun, completeRun, storeFeatureDashboards } from '@/server/dashboards';
import { getDb, getPool } from '@/server/db';
import { getFeaturePage } from '@/server/feature-page';
import { storeFeatureWeights } from '@/server/feature-weights';
import { resolveToken } from '@/server/vocabulary';
import { getQueue } from '@/server/jobs/queue';
import { registerModel } from '@/server/register-models';
import { setRole, signUp, type UserRow } from '@/server/users';
import type { FeatureDashboard } from '@/compute/dashboards/types';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, syntheticDashboard, type SyntheticModel } from '../helpers/synthetic';
import { STORIES_DIR } from '../shared';
import { seededRandom } from '@/compute/random';
import { setAccess } from '@/server/teams';
import { inOneRender } from '../helpers/render';

// React's cache keeps a render's reads (server/render-memo.ts) in inOneRender, as in a server render
vi.mock('react', async (original) => ({ ...(await original<object>()), cache: (await import('../helpers/render')).renderCache }));

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;
let other: UserRow;
let viewer: UserRow;
/** a feature with quantile intervals and the ablation loss change, stored through a subset run */
const RICH = 7;
let rich: FeatureDashboard;

const at = (index: number) => ({ model: 'synth', sae: '1-res', index });

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  other = await signUp({ name: 'Cy', email: 'cy@example.org', password: 'battery staple' });
  viewer = await signUp({ name: 'Vi', email: 'vi@example.org', password: 'battery staple' });
  await setRole(getDb(), viewer.id, 'viewer');
  viewer = { ...viewer, role: 'viewer' };
  model = await seedSyntheticModel(getDb(), {
    slug: 'synth',
    vocabSize: 64,
    saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 50 }],
    topExamples: 4,
    seed: 3,
  });

  // Feature RICH again, now with quantile intervals and the per-token loss change of its top examples.
  const base = syntheticDashboard(seededRandom(99), RICH, { nTokens: 1_000_000, contexts: model.contexts, vocabSize: 64, topExamples: 3 });
  const example = (contextIndex: number, position: number, act: number) => {
    const tokens = model.contexts[contextIndex]!;
    const acts = new Float32Array(tokens.length);
    acts[position] = act;
    return { contextIndex, tokens, acts, maxAct: act, maxPos: position, position, act };
  };
  rich = {
    ...base,
    nonzeroCount: 5000,
    density: 0.005,
    maxAct: 4,
    topExamples: [example(3, 5, 4), example(9, 2, 3.5)].map(({ position: _p, act: _a, ...e }) => e),
    topExampleAblation: [
      { contextIndex: 3, lossDelta: Float32Array.from({ length: 15 }, (_, t) => (t === 4 ? 0.75 : 0)) },
      { contextIndex: 9, lossDelta: new Float32Array(15) },
    ],
    intervals: [
      { lo: 0, hi: 2, count: 4000, examples: [example(1, 3, 0.5), example(2, 4, 1.5)] },
      { lo: 2, hi: 4, count: 1000, examples: [example(4, 6, 3)] },
    ],
  };
  const sae = model.saes[0]!;
  const run = await beginRun(getDb(), { saeId: sae.id, corpusId: await corpusOf(sae.runId), jobId: null, params: { ablateTopExamples: true } });
  await storeFeatureDashboards(getDb(), run.id, sae.id, [rich]);
  await completeRun(run.id, { evals: null, timings: {}, nTokens: 1_000_000, subset: true });
});

async function corpusOf(runId: string): Promise<string> {
  const run = await getDb().query.dashboardRuns.findFirst({ where: (r, { eq: is }) => is(r.id, runId) });
  return run!.corpusId;
}

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('getFeaturePage', () => {
  it('reads the statistics, logit weights and examples of the current run, with the tokens of each context', async () => {
    const f = 11;
    const expected = model.saes[0]!.dashboards[f]!;
    const page = (await getFeaturePage(getDb(), 'synth', '1-res', f))!;
    expect(page.model.slug).toBe('synth');
    expect(page.sae).toMatchObject({ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 50 });
    expect(page.run?.id).toBe(model.saes[0]!.runId);
    expect(page.stats).toMatchObject({
      nTokens: expected.nTokens,
      nonzeroCount: expected.nonzeroCount,
      density: expected.density,
      logitTop: expected.logitWeights.top,
      logitBottom: expected.logitWeights.bottom,
      histogram: expected.histogram,
    });
    // float4 columns: the same float32 value
    for (const key of ['maxAct', 'meanAct', 'encoderBias', 'deDot', 'deCos'] as const) expect(Math.fround(page.stats![key])).toBe(Math.fround(expected[key]));
    expect(page.top).toHaveLength(expected.topExamples.length);
    page.top.forEach((e, rank) => {
      const want = expected.topExamples[rank]!;
      expect(e.contextIndex).toBe(want.contextIndex);
      expect(e.tokens).toEqual(model.contexts[want.contextIndex]);
      expect(e.maxPos).toBe(want.maxPos);
      expect(e.acts).toHaveLength(want.acts.length);
      e.acts.forEach((a, t) => expect(a).toBeCloseTo(want.acts[t]!, 4));
      expect(e.lossDelta).toBeNull();
    });
    // every token shown has its piece
    for (const e of page.top) for (const id of e.tokens) expect(page.pieces[id]).toBe(model.vocab[id]);
    for (const w of expected.logitWeights.top) expect(page.pieces[w.id]).toBe(model.vocab[w.id]);
    expect(page.page).toMatchObject({ label: '', body: '', html: '', revision: 0 });
  });

  it('groups interval examples under their interval, highest first, and carries the ablation loss change', async () => {
    const page = (await getFeaturePage(getDb(), 'synth', '1-res', RICH))!;
    expect(page.run?.ablated).toBe(false); // the SAE's current run was not ablated; this feature's top examples were
    expect(page.stats?.maxAct).toBe(4);
    expect(page.intervals.map((i) => [i.lo, i.hi, i.count, i.examples.length])).toEqual([
      [2, 4, 1000, 1],
      [0, 2, 4000, 2],
    ]);
    // each knows its place as stored, which its examples name (a list of it is `i{index}`)
    for (const interval of page.intervals) expect(interval.examples.every((e) => e.interval === interval.index)).toBe(true);
    expect(page.intervals.map((i) => i.index)).toEqual([1, 0]);
    expect(page.intervals[1]!.examples.map((e) => e.position)).toEqual([3, 4]);
    expect(page.intervals[0]!.examples[0]).toMatchObject({ kind: 'interval', contextIndex: 4, position: 6, maxAct: 3 });
    expect(page.top.map((e) => e.contextIndex)).toEqual([3, 9]);
    expect(page.top[0]!.lossDelta?.[4]).toBeCloseTo(0.75, 5);
    expect(page.top[0]!.lossDelta).toHaveLength(15);
  });

  it('leaves the intervals\' examples out when asked, keeping how many each has and every other example', async () => {
    const full = (await getFeaturePage(getDb(), 'synth', '1-res', RICH))!;
    const collapsed = (await getFeaturePage(getDb(), 'synth', '1-res', RICH, { intervalExamples: false }))!;
    expect(full.intervals.map((i) => [i.index, i.exampleCount])).toEqual([
      [1, 1],
      [0, 2],
    ]);
    expect(collapsed.intervals.map((i) => [i.index, i.lo, i.hi, i.count, i.exampleCount, i.examples.length])).toEqual(
      full.intervals.map((i) => [i.index, i.lo, i.hi, i.count, i.exampleCount, 0]),
    );
    expect(collapsed.top).toEqual(full.top);
    expect(collapsed.random).toEqual(full.random);
    expect(collapsed.stats).toEqual(full.stats);
    // only what it shows has pieces: a token of an interval example that nothing else shows has none
    const shown = new Set([...[...collapsed.top, ...collapsed.random].flatMap((e) => e.tokens), ...[...full.stats!.logitTop, ...full.stats!.logitBottom].map((w) => w.id)]);
    for (const id of Object.keys(collapsed.pieces).map(Number)) expect(full.pieces[id]).toBe(collapsed.pieces[id]);
    const unshown = full.intervals.flatMap((i) => i.examples.flatMap((e) => e.tokens)).filter((id) => !shown.has(id));
    expect(unshown.length).toBeGreaterThan(0);
    for (const id of unshown) expect(collapsed.pieces[id]).toBeUndefined();
  });

  it('gives a recomputed feature a new version (what its rendered examples are cached under); the others keep theirs', async () => {
    const versions = async () => Promise.all([RICH, 11].map(async (f) => (await getFeaturePage(getDb(), 'synth', '1-res', f))!.stats!.version));
    const [rich0, other0] = await versions();
    expect(rich0).toMatch(/^\d+$/);
    const sae = model.saes[0]!;
    const run = await beginRun(getDb(), { saeId: sae.id, corpusId: await corpusOf(sae.runId), jobId: null, params: { ablateTopExamples: true } });
    await storeFeatureDashboards(getDb(), run.id, sae.id, [rich]);
    await completeRun(run.id, { evals: null, timings: {}, nTokens: 1_000_000, subset: true });
    const [rich1, other1] = await versions();
    expect(rich1).not.toBe(rich0);
    expect(other1).toBe(other0);
  });

  it('answers null for an unknown model, SAE or out-of-range feature', async () => {
    expect(await getFeaturePage(getDb(), 'nope', '1-res', 0)).toBeNull();
    expect(await getFeaturePage(getDb(), 'synth', 'nope', 0)).toBeNull();
    expect(await getFeaturePage(getDb(), 'synth', '1-res', 50)).toBeNull();
    expect(await getFeaturePage(getDb(), 'synth', '1-res', -1)).toBeNull();
    expect(await getFeaturePage(getDb(), 'synth', '1-res', 2 ** 40)).toBeNull();
    await expect(callerFor(null).feature.get(at(50))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('takes one SQL round trip, the vocabulary included', async () => {
    const pool = getPool();
    const spy = vi.spyOn(pool, 'query');
    try {
      await getFeaturePage(getDb(), 'synth', '1-res', 12);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('an anonymous view', () => {
  it('reads the feature, the reader’s access, its similar features and label proposals in one statement', async () => {
    const sae = model.saes[0]!;
    await callerFor(editor).feature.edit({ ...at(20), label: 'counted', body: '', summary: '', baseRevision: 0 });
    await getDb().insert(similarFeatures).values({ saeId: sae.id, index: 20, kind: 'decoder', otherSaeId: sae.id, otherIndex: 21, cosine: 0.5, rank: 0 });
    const anonymous = callerFor(null);
    await anonymous.feature.get(at(20)); // the model's vocabulary is read once per process
    const spy = vi.spyOn(getPool(), 'query');
    try {
      const page = await anonymous.feature.get(at(20));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(page.can).toMatchObject({ read: true, comment: false });
      expect(page.labels).toMatchObject({ label: 'counted', proposals: [{ label: 'counted', votes: 1, mine: false, shown: true }] });
      expect(page.similar).toEqual([{ kind: 'decoder', sae: { slug: '1-res', hookName: 'blocks.1.hook_resid_post' }, same: true, neighbours: [{ index: 21, cosine: 0.5, label: '' }] }]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('a feature page’s render', () => {
  /** model `fold`: SAE `pub` is public; `priv` is made private (its owner: the admin) once the texts below are written */
  let fold: SyntheticModel;
  const on = (sae: 'pub' | 'priv', index: number) => ({ model: 'fold', sae, index });
  const pageOf = (sae: 'pub' | 'priv', index: number) => ({ kind: 'feature' as const, saeId: fold.saes.find((s) => s.slug === sae)!.id, index });
  let edited: string;

  /** What the page asks for in one server render (page.tsx, then the hypotheses box, the backlinks and the thread). */
  const render = (user: UserRow | null, a: { model: string; sae: string; index: number }) =>
    inOneRender(async () => {
      const caller = callerFor(user);
      const page = await caller.feature.get({ ...a, intervalExamples: false, discussion: true });
      const [hypotheses, backlinks, thread] = await Promise.all([
        caller.hypothesis.forFeature(a),
        caller.featureLink.backlinks(a),
        caller.comment.thread({ kind: 'feature', saeId: page.sae.id, index: a.index }),
      ]);
      return { page, hypotheses, backlinks, thread };
    });
  /** The same parts read by their procedures alone, as the browser's calls and other pages read them. */
  const alone = async (user: UserRow | null, a: { model: string; sae: string; index: number }, saeId: string) => {
    const caller = callerFor(user);
    return {
      hypotheses: await caller.hypothesis.forFeature(a),
      backlinks: await caller.featureLink.backlinks(a),
      thread: await caller.comment.thread({ kind: 'feature', saeId, index: a.index }),
    };
  };
  /** How many statements `calls` sends (the model's vocabulary read before). */
  const statements = async (calls: () => Promise<unknown>) => {
    const spy = vi.spyOn(getPool(), 'query');
    try {
      await calls();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  };

  beforeAll(async () => {
    fold = await seedSyntheticModel(getDb(), {
      slug: 'fold',
      vocabSize: 64,
      saes: [
        { slug: 'pub', hookName: 'blocks.1.hook_resid_post', dSae: 20 },
        { slug: 'priv', hookName: 'blocks.2.hook_resid_post', dSae: 20 },
      ],
      seed: 8,
    });
    const author = callerFor(editor);
    await author.hypothesis.create({ statement: 'pub 3 detects quotes', features: ['fold/pub/3'] });
    await author.hypothesis.create({ statement: 'pub 3 and priv 1 fire together', body: 'Compare [[fold/pub/3]].', features: ['fold/pub/3', 'fold/priv/1'] });
    ({ id: edited } = await author.comment.post({ target: pageOf('pub', 3), body: 'First thoughts.' }));
    await author.comment.edit({ id: edited, body: 'Second thoughts.' });
    const { id: gone } = await author.comment.post({ target: pageOf('pub', 3), body: 'A mistake.' });
    await author.comment.delete({ id: gone });
    await author.comment.post({ target: pageOf('pub', 5), body: 'Like [[fold/pub/3]].' });
    await author.comment.post({ target: pageOf('priv', 1), body: 'The secret twin of [[fold/pub/3]].' });
    await setAccess(admin, 'sae', pageOf('priv', 1).saeId, { teamId: null, visibility: 'private' }, 'the SAE priv');
    await render(null, on('pub', 3)); // the model's vocabulary is read once per process
  });

  it('reads the hypotheses, backlinks and comment thread in the page’s one statement, for anonymous and signed-in readers', async () => {
    for (const user of [null, viewer, editor, admin]) {
      expect(await statements(() => render(user, on('pub', 3))), user?.name ?? 'anonymous').toBe(1);
    }
    // without the render's memo, each part is a statement of its own (as the browser's calls read them)
    expect(await statements(() => alone(null, on('pub', 3), pageOf('pub', 3).saeId))).toBeGreaterThan(1);
  });

  it('shows what the procedures alone show: no hypothesis, backlink or comment the reader may not see', async () => {
    for (const user of [null, viewer, editor, admin]) {
      const { page, ...parts } = await render(user, on('pub', 3));
      expect(page).not.toHaveProperty('discussion'); // what the page's statement read for its other sections stays on the server
      expect(parts).toEqual(await alone(user, on('pub', 3), page.sae.id));
      const hidden = user !== admin;
      expect(parts.hypotheses.map((h) => h.statement).sort()).toEqual(hidden ? ['pub 3 detects quotes'] : ['pub 3 and priv 1 fire together', 'pub 3 detects quotes']);
      expect(parts.backlinks.map((b) => b.title).sort()).toEqual(hidden ? ['fold/pub/5'] : ['fold/priv/1', 'fold/pub/5', 'pub 3 and priv 1 fire together']);
      expect(parts.thread.comments.map((c) => [c.body, c.history.length, !!c.deleted])).toEqual([
        ['Second thoughts.', 1, false],
        ['', 0, true],
      ]);
      expect(parts.thread.comments[0]!.history[0]!.html).toBe('<p>First thoughts.</p>');
      expect(parts.thread.comments[0]!.createdAt).toBeInstanceOf(Date);
      expect(parts.thread.viewer).toEqual({ signedIn: !!user, canComment: !!user, canModerate: user === admin });
    }
  });

  it('refuses a feature of an SAE the reader may not see, its thread included', async () => {
    for (const user of [null, viewer, editor]) {
      await expect(render(user, on('priv', 1))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(inOneRender(() => callerFor(user).comment.thread(pageOf('priv', 1)))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    const { thread } = await render(admin, on('priv', 1));
    expect(thread.comments.map((c) => c.body)).toEqual(['The secret twin of [[fold/pub/3]].']);
  });
});

describe('editing the label and description', () => {
  it('appends a revision and updates the page in one step', async () => {
    const result = await callerFor(editor).feature.edit({ ...at(2), label: 'cats', body: 'Fires on *cat*.', summary: 'first', baseRevision: 0 });
    expect(result).toEqual({ revision: 1 });
    const page = (await getFeaturePage(getDb(), 'synth', '1-res', 2))!;
    expect(page.page).toMatchObject({ label: 'cats', body: 'Fires on *cat*.', revision: 1, updatedBy: 'Bo' });
    expect(page.page.html).toBe('<p>Fires on <em>cat</em>.</p>');
    await callerFor(other).feature.edit({ ...at(2), label: 'cats and dogs', body: 'Both.', summary: '', baseRevision: 1 });
    const revisions = await getDb()
      .select()
      .from(featureRevisions)
      .where(and(eq(featureRevisions.saeId, model.saes[0]!.id), eq(featureRevisions.index, 2)))
      .orderBy(featureRevisions.revision);
    expect(revisions.map((r) => [r.revision, r.label, r.summary, r.authorId])).toEqual([
      [1, 'cats', 'first', editor.id],
      [2, 'cats and dogs', '', other.id],
    ]);
  });

  it('refuses an edit based on a stale revision (CONFLICT), changing nothing, and tells who saved', async () => {
    const stale = callerFor(editor).feature.edit({ ...at(2), label: 'mine', body: 'mine', summary: '', baseRevision: 1 });
    await expect(stale).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/revision 2 by Cy/) });
    const current = await callerFor(null).feature.current(at(2));
    expect(current).toMatchObject({ label: 'cats and dogs', body: 'Both.', revision: 2, updatedBy: 'Cy', html: '<p>Both.</p>' });
    const count = await getDb().$count(featureRevisions, and(eq(featureRevisions.saeId, model.saes[0]!.id), eq(featureRevisions.index, 2)));
    expect(count).toBe(2);
    // a first edit of a page that someone else created meanwhile is stale too
    await callerFor(editor).feature.edit({ ...at(3), label: 'first', body: '', summary: '', baseRevision: 0 });
    await expect(callerFor(other).feature.edit({ ...at(3), label: 'also first', body: '', summary: '', baseRevision: 0 })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // and a base from the future
    await expect(callerFor(other).feature.edit({ ...at(3), label: 'x', body: '', summary: '', baseRevision: 5 })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('lets exactly one of two concurrent edits from the same revision through', async () => {
    for (const base of [0, 1]) {
      const results = await Promise.allSettled(
        [editor, other, admin].map((user, i) => callerFor(user).feature.edit({ ...at(4), label: `race ${base}.${i}`, body: '', summary: '', baseRevision: base })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CONFLICT' });
    }
    const [page] = await getDb().select().from(featurePages).where(and(eq(featurePages.saeId, model.saes[0]!.id), eq(featurePages.index, 4)));
    expect(page!.revision).toBe(2);
    const revisions = await getDb().$count(featureRevisions, and(eq(featureRevisions.saeId, model.saes[0]!.id), eq(featureRevisions.index, 4)));
    expect(revisions).toBe(2);
  });

  it('needs an editor, a feature that exists, and input within bounds', async () => {
    const edit = { ...at(5), label: 'x', body: '', summary: '', baseRevision: 0 };
    await expect(callerFor(null).feature.edit(edit)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(callerFor(viewer).feature.edit(edit)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerFor(editor).feature.edit({ ...edit, index: 50 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callerFor(editor).feature.edit({ ...edit, sae: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(callerFor(editor).feature.edit({ ...edit, label: 'x'.repeat(201) })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(callerFor(editor).feature.edit({ ...edit, baseRevision: -1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('stores markdown as written and renders it sanitised: no scripts, handlers or javascript: links', async () => {
    const body = [
      '# Heading',
      '<script>alert(1)</script>',
      '<img src="x" onerror="alert(2)">',
      '<a href="https://example.org" onclick="alert(3)">raw link</a>',
      '[click](javascript:alert(4)) and ![img](javascript:alert(5))',
      '<iframe src="https://example.org"></iframe><style>body{display:none}</style>',
      'See [[synth/1-res/3]], not `[[synth/1-res/4]]`.',
    ].join('\n\n');
    await callerFor(editor).feature.edit({ ...at(6), label: '<b>bold</b>', body, summary: '', baseRevision: 0 });
    const page = (await getFeaturePage(getDb(), 'synth', '1-res', 6))!;
    expect(page.page.body).toBe(body);
    expect(page.page.label).toBe('<b>bold</b>'); // a label is text: React escapes it
    const html = page.page.html;
    expect(html).toContain('<h1>Heading</h1>');
    expect(html).not.toMatch(/<script|<iframe|<style|onerror|onclick|javascript:|<img[^>]*src/i);
    expect(html).toContain('<a href="/synth/1-res/3" class="feature-link">synth/1-res/3</a>');
    expect(html).toContain('<code>[[synth/1-res/4]]</code>');
    const preview = await callerFor(editor).feature.preview({ body });
    await expect(callerFor(null).feature.preview({ body })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    // the page (feature.get) and the preview show the link as a chip with the viewer's labels
    const shown = (await callerFor(editor).feature.get(at(6))).page.html;
    expect(shown).toContain('<a href="/synth/1-res/3" class="feature-chip" data-feature="synth/1-res/3">');
    expect(preview.html).toBe(shown);
  });
});

describe('compute panels', () => {
  it('enqueue jobs with validated parameters for signed-in users', async () => {
    const sae = model.saes[0]!;
    const caller = callerFor(viewer);
    const text = { text: 'the cat sat' };
    const a = await caller.feature.activations({ ...at(11), input: text });
    const b = await caller.feature.ablate({ ...at(11), input: text, mode: 'clamp', value: 2, positions: [1, 2] });
    const c = await caller.feature.steer({ ...at(11), input: text, coefficients: { from: -5, to: 5, steps: 11 }, targetToken: 'cat' });
    const rows = await Promise.all([a, b, c].map(({ id }) => getDb().query.jobs.findFirst({ where: eq(jobs.id, id) })));
    expect(rows.map((r) => [r!.type, r!.status, r!.userId, r!.modelId])).toEqual([
      ['activations', 'queued', viewer.id, model.id],
      ['ablate', 'queued', viewer.id, model.id],
      ['steer', 'queued', viewer.id, model.id],
    ]);
    expect(rows[0]!.params).toEqual({ saeId: sae.id, input: text, features: [11], topK: 5 });
    expect(rows[1]!.params).toMatchObject({ saeId: sae.id, feature: 11, mode: 'clamp', value: 2, positions: [1, 2] });
    // the target 'cat' is resolved on the server to the piece ' cat' (no piece is exactly 'cat' in the synthetic vocabulary)
    expect(model.vocab.indexOf('cat')).toBe(-1);
    expect(rows[2]!.params).toMatchObject({ feature: 11, coefficients: { from: -5, to: 5, steps: 11 }, targetToken: model.vocab.indexOf(' cat') });
  });

  it('refuse visitors, empty text, bad clamps, unknown target tokens', async () => {
    await expect(callerFor(null).feature.activations({ ...at(1), input: { text: 'x' } })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(callerFor(editor).feature.activations({ ...at(1), input: { text: '  ' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(callerFor(editor).feature.ablate({ ...at(1), input: { text: 'x' }, mode: 'clamp' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(callerFor(editor).feature.steer({ ...at(1), input: { text: 'x' }, targetToken: 'zebra' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('no token'),
    });
    await expect(
      callerFor(editor).feature.steer({ ...at(1), input: { text: 'x' }, coefficients: { from: 0, to: 1, steps: 500 } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('recompute: editors only, over the current run’s corpus, with the ablation', async () => {
    await expect(callerFor(viewer).feature.recompute({ ...at(1), what: 'dashboard' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { id } = await callerFor(editor).feature.recompute({ ...at(1), what: 'dashboard' });
    const job = await getDb().query.jobs.findFirst({ where: eq(jobs.id, id) });
    expect(job!.type).toBe('dashboards');
    expect(job!.params).toMatchObject({ saeId: model.saes[0]!.id, corpusId: await corpusOf(model.saes[0]!.runId), features: [1], ablateTopExamples: true });
    const logits = await callerFor(editor).feature.recompute({ ...at(1), what: 'logit-weights' });
    const row = await getDb().query.jobs.findFirst({ where: eq(jobs.id, logits.id) });
    expect(row).toMatchObject({ type: 'logit-weights', params: { saeId: model.saes[0]!.id, features: [1], k: 10 } });
    // the page shows the newest recompute of this feature
    const page = (await getFeaturePage(getDb(), 'synth', '1-res', 1))!;
    expect(page.recompute).toMatchObject({ id: logits.id, type: 'logit-weights', status: 'queued' });
    expect((await getFeaturePage(getDb(), 'synth', '1-res', 2))!.recompute).toBeNull();
  });

  it('stores recomputed weights into the current run, with the logit-weight convention they were computed with', async () => {
    const top = [{ id: 5, value: 9 }];
    expect((await getFeaturePage(getDb(), 'synth', '1-res', 1))!.stats!.logitFoldLn).toBe(true);
    const updated = await storeFeatureWeights(getDb(), model.saes[0]!.id, [
      { index: 1, logitWeights: { top, bottom: top }, logitFoldLn: false, logitHistogram: { edges: [0, 1], counts: [64] }, encoderBias: -3, encoderNorm: 2, decoderNorm: 1, deDot: 0.5, deCos: 0.25 },
    ]);
    expect(updated).toEqual([1]);
    const page = (await getFeaturePage(getDb(), 'synth', '1-res', 1))!;
    expect(page.stats).toMatchObject({ logitTop: top, logitFoldLn: false, encoderBias: -3, encoderNorm: 2, deCos: 0.25 });
    expect(page.pieces[5]).toBe(model.vocab[5]);
  });
});

describe('vocabulary', () => {
  it('is stored when a model is registered, and resolves token pieces', async () => {
    const row = await registerModel(getDb(), STORIES_DIR);
    const [vocab] = await getDb().select().from(modelVocabs).where(eq(modelVocabs.modelId, row.id));
    expect(vocab!.pieces).toHaveLength(512);
    expect(vocab!.contentHash).toBe(row.contentHash);
    expect(vocab!.pieces[1]).toContain('<s>');
    const once = vocab!.pieces.indexOf(' Once');
    expect(once).toBeGreaterThan(2);
    expect(resolveToken(vocab!.pieces, 'Once', 512)).toBe(once);
    expect(resolveToken(vocab!.pieces, ' Once', 512)).toBe(once);
    expect(resolveToken(vocab!.pieces, '17', 512)).toBe(17);
    expect(() => resolveToken(vocab!.pieces, '600', 512)).toThrow(/out of range/);
    expect(() => resolveToken(vocab!.pieces, 'zzzzqq', 512)).toThrow(/no token/);
    // registering again keeps one vocabulary row
    await registerModel(getDb(), STORIES_DIR);
    expect(await getDb().$count(modelVocabs, eq(modelVocabs.modelId, row.id))).toBe(1);
  });
});
