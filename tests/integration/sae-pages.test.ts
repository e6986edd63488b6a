/**
 * The SAE overview's feature table (keyset pagination, sorting, filters), labelling progress and queue, search
 * (full-text ranking, tokens, addresses) and feature lists, against a real PostgreSQL with synthetic dashboards
 * stored through the server's own writing functions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { labelQueue } from '@/server/labelling';
import { featureTable, parseCursor, cursorToString, saeSummaries, type FeatureSort, type FeatureTableQuery, type FeatureTableRow } from '@/server/saes';
import { parseFeatureAddress } from '@/server/addresses';
import { textQuery } from '@/server/search';
import { signUp, type UserRow } from '@/server/users';
import type { FeatureDashboard } from '@/compute/dashboards/types';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { labelFeatures, seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;

const LABELS: Record<number, { label: string; body?: string }> = {
  3: { label: 'base64 detector', body: 'Fires inside base64 strings; see also the hex feature.' },
  5: { label: 'hex digits', body: 'Mostly hexadecimal, sometimes base64 padding.' },
  8: { label: 'cats and dogs', body: 'Animals in stories.' },
  13: { label: 'detector of closing brackets' },
  21: { label: 'Lily', body: 'The name Lily at the start of a story.' },
};

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  model = await seedSyntheticModel(getDb(), {
    slug: 'synth',
    vocabSize: 64,
    saes: [
      { slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 400 },
      { slug: '2-res', hookName: 'blocks.2.hook_resid_post', dSae: 120 },
    ],
    seed: 7,
  });
  await labelFeatures(
    getDb(),
    model.saes[0]!.id,
    Object.entries(LABELS).map(([index, p]) => ({ index: Number(index), ...p })),
    admin.id,
  );
  await labelFeatures(getDb(), model.saes[1]!.id, [{ index: 0, label: 'base64 again' }], admin.id);
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

// ---- the feature table ------------------------------------------------------------------------------------------

function sortKey(d: FeatureDashboard, sort: FeatureSort): number {
  return { index: d.index, density: d.density, maxAct: d.maxAct, encoderBias: d.encoderBias, deCos: d.deCos }[sort];
}

/** What a page walk must return: the filtered features in (key, index) order, computed in JS. */
function expected(dashboards: FeatureDashboard[], q: Omit<FeatureTableQuery, 'limit'>, labelled: Set<number>): number[] {
  return dashboards
    .filter((d) => q.log10DensityMin === undefined || d.density >= 10 ** q.log10DensityMin)
    .filter((d) => q.log10DensityMax === undefined || d.density <= 10 ** q.log10DensityMax)
    .filter((d) => q.status !== 'dead' || d.nonzeroCount === 0)
    .filter((d) => q.status !== 'alive' || d.nonzeroCount > 0)
    .filter((d) => q.status !== 'ultraRare' || (d.nonzeroCount > 0 && d.density < 1e-5))
    .filter((d) => q.labelled !== 'yes' || labelled.has(d.index))
    .filter((d) => q.labelled !== 'no' || !labelled.has(d.index))
    .sort((a, b) => {
      const c = sortKey(a, q.sort) - sortKey(b, q.sort) || a.index - b.index;
      return q.dir === 'asc' ? c : -c;
    })
    .map((d) => d.index);
}

async function walk(q: Omit<FeatureTableQuery, 'limit' | 'after' | 'before'>, limit: number) {
  const sae = model.saes[0]!;
  const seen: number[] = [];
  const pages: FeatureTableRow[][] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    // The cursor goes through its URL form, as the page's links carry it.
    const page = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, { ...q, limit, after: parseCursor(after) });
    pages.push(page.rows);
    seen.push(...page.rows.map((r) => r.index));
    if (!page.next) return { seen, pages, total: page.total };
    after = cursorToString(page.next);
  }
  throw new Error('pagination did not end');
}

describe('feature table', () => {
  const labelled = new Set(Object.keys(LABELS).map(Number));

  it('walks every sort in both directions with no duplicates and no gaps, ties broken by index', async () => {
    for (const sort of ['density', 'maxAct', 'encoderBias', 'deCos', 'index'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const q = { sort, dir, status: 'all', labelled: 'any' } as const;
        const { seen, total } = await walk(q, 37);
        expect(seen, `${sort} ${dir}`).toEqual(expected(model.saes[0]!.dashboards, q, labelled));
        expect(new Set(seen).size).toBe(400);
        expect(total).toBe(400);
      }
    }
  });

  it('has real ties in density (so the tie-break matters)', () => {
    const densities = model.saes[0]!.dashboards.map((d) => d.density);
    expect(new Set(densities).size).toBeLessThan(densities.length - 50);
  });

  it('filters by status, density range and label, and counts the matches', async () => {
    const cases: Omit<FeatureTableQuery, 'limit' | 'after' | 'before'>[] = [
      { sort: 'density', dir: 'desc', status: 'dead', labelled: 'any' },
      { sort: 'density', dir: 'asc', status: 'ultraRare', labelled: 'any' },
      { sort: 'density', dir: 'desc', status: 'alive', labelled: 'no' },
      { sort: 'maxAct', dir: 'desc', status: 'all', labelled: 'yes' },
      { sort: 'density', dir: 'asc', status: 'all', labelled: 'any', log10DensityMin: -4, log10DensityMax: -2 },
      { sort: 'encoderBias', dir: 'asc', status: 'alive', labelled: 'any', log10DensityMax: -3 },
    ];
    for (const q of cases) {
      const want = expected(model.saes[0]!.dashboards, q, labelled);
      const { seen, total } = await walk(q, 25);
      expect(seen, JSON.stringify(q)).toEqual(want);
      expect(total).toBe(want.length);
    }
    const dead = expected(model.saes[0]!.dashboards, { sort: 'index', dir: 'asc', status: 'dead', labelled: 'any' }, labelled);
    expect(dead.length).toBeGreaterThan(10);
  });

  it('takes the ultra-rare threshold from the run’s evals, and says which it used', async () => {
    const sae = model.saes[0]!;
    const q = { sort: 'density', dir: 'asc', status: 'ultraRare', labelled: 'any', limit: 400 } as const;
    const byDefault = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, q);
    expect(byDefault.ultraRareDensity).toBe(1e-5);
    const { rows: [run] } = await getPool().query<{ evals: unknown }>('select evals from dashboard_run where id = $1', [sae.runId]);
    try {
      await getPool().query(`update dashboard_run set evals = coalesce(evals, '{}') || '{"ultraRareDensity": 0.001}' where id = $1`, [sae.runId]);
      const page = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, q);
      expect(page.ultraRareDensity).toBe(0.001);
      const want = sae.dashboards.filter((d) => d.nonzeroCount > 0 && d.density < 0.001).map((d) => d.index);
      expect(want.length).toBeGreaterThan(byDefault.total);
      expect(page.rows.map((r) => r.index).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
      expect(page.total).toBe(want.length);
    } finally {
      await getPool().query('update dashboard_run set evals = $2 where id = $1', [sae.runId, run!.evals]);
    }
  });

  it('says when nothing matches, with the count and no cursors', async () => {
    const sae = model.saes[0]!;
    const page = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, { sort: 'density', dir: 'desc', status: 'dead', labelled: 'any', log10DensityMin: -1, limit: 50 });
    expect(page).toMatchObject({ rows: [], total: 0, capped: false, next: null, previous: null });
  });

  it('goes back a page with the before cursor, to exactly the previous rows', async () => {
    const sae = model.saes[0]!;
    const q = { sort: 'density', dir: 'desc', status: 'all', labelled: 'any' } as const;
    const { pages } = await walk(q, 30);
    // From page 3 back to page 2, then back to page 1 (which has no previous page).
    const third = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, { ...q, limit: 30, after: { value: pages[1]!.at(-1)!.density, index: pages[1]!.at(-1)!.index } });
    expect(third.rows.map((r) => r.index)).toEqual(pages[2]!.map((r) => r.index));
    const second = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, { ...q, limit: 30, before: third.previous! });
    expect(second.rows.map((r) => r.index)).toEqual(pages[1]!.map((r) => r.index));
    const first = await featureTable(getDb(), { id: sae.id, runId: sae.runId }, { ...q, limit: 30, before: second.previous! });
    expect(first.rows.map((r) => r.index)).toEqual(pages[0]!.map((r) => r.index));
    expect(first.previous).toBeNull();
    expect(first.next).not.toBeNull();
  });

  it('serves the table through tRPC with URL-shaped input and rejects a malformed cursor', async () => {
    const caller = callerFor(null);
    const page = await caller.sae.features({ model: 'synth', sae: '1-res', sort: 'density', dir: 'desc', labelled: 'yes', limit: 2 });
    expect(page.rows).toHaveLength(2);
    expect(page.rows.every((r) => r.label)).toBe(true);
    const next = await caller.sae.features({ model: 'synth', sae: '1-res', sort: 'density', dir: 'desc', labelled: 'yes', limit: 2, after: cursorToString(page.next!) });
    expect(next.rows.map((r) => r.index)).not.toContain(page.rows[0]!.index);
    await expect(caller.sae.features({ model: 'synth', sae: '1-res', after: 'nonsense' })).rejects.toThrow(/cursor/);
    await expect(caller.sae.features({ model: 'synth', sae: 'nope' })).rejects.toThrow(/no SAE/);
  });
});

// ---- progress, overview, queue ----------------------------------------------------------------------------------

describe('overview and labelling', () => {
  it('reports labelled / total per SAE', async () => {
    const summaries = await saeSummaries(getDb(), null);
    const one = summaries.find((s) => s.slug === '1-res')!;
    expect(one).toMatchObject({ modelSlug: 'synth', dSae: 400, labelled: 5, computed: 400, nTokens: 1_000_000 });
    expect(one.deadFraction).toBeCloseTo(model.saes[0]!.dashboards.filter((d) => d.nonzeroCount === 0).length / 400);
    expect(summaries.find((s) => s.slug === '2-res')!.labelled).toBe(1);
  });

  it('returns the overview with evals and every feature for the scatter', async () => {
    const o = await callerFor(null).sae.overview({ model: 'synth', sae: '1-res' });
    expect(o.run?.nTokens).toBe(1_000_000);
    expect(o.run?.evals?.byPosition).toHaveLength(16);
    expect(o.points?.index).toHaveLength(400);
    expect(Object.keys(o.points!.labels).map(Number).sort((a, b) => a - b)).toEqual([3, 5, 8, 13, 21]);
    expect(o.points!.density[3]).toBeCloseTo(model.saes[0]!.dashboards[3]!.density, 8);
  });

  it('hands out the next unlabelled live feature, wrapping round, skipping dead ones', async () => {
    const sae = model.saes[0]!;
    const live = sae.dashboards.filter((d) => d.nonzeroCount > 0).map((d) => d.index);
    const labelled = new Set(Object.keys(LABELS).map(Number));
    const wantFrom = (from: number) => live.find((i) => i >= from && !labelled.has(i)) ?? live.find((i) => !labelled.has(i));
    for (const from of [0, 3, 4, 200, 399]) {
      const q = await labelQueue(getDb(), { id: sae.id, runId: sae.runId }, from);
      expect(q.next, `from ${from}`).toBe(wantFrom(from));
      expect(q.live).toBe(live.length);
      expect(q.remaining).toBe(live.filter((i) => !labelled.has(i)).length);
    }
  });
});

// ---- search -----------------------------------------------------------------------------------------------------

describe('search', () => {
  it('ranks label matches above description matches', async () => {
    const hits = await callerFor(null).search.text({ q: 'base64' });
    const addresses = hits.map((h) => `${h.model}/${h.sae}/${h.index}`);
    expect(addresses).toEqual(expect.arrayContaining(['synth/1-res/3', 'synth/1-res/5', 'synth/2-res/0']));
    // Both label matches come before the feature that mentions base64 only in its description.
    expect(addresses.indexOf('synth/1-res/5')).toBeGreaterThan(addresses.indexOf('synth/1-res/3'));
    expect(addresses.indexOf('synth/1-res/5')).toBeGreaterThan(addresses.indexOf('synth/2-res/0'));
    expect(hits.find((h) => h.index === 5)!.snippet).toContain('⟦base64⟧');
  });

  it('matches word stems and prefixes, scopes to an SAE, and ignores punctuation', async () => {
    const caller = callerFor(null);
    expect((await caller.search.text({ q: 'detectors' })).map((h) => h.index).sort((a, b) => a - b)).toEqual([3, 13]);
    expect((await caller.search.text({ q: 'detec' })).map((h) => h.index).sort((a, b) => a - b)).toEqual([3, 13]);
    expect((await caller.search.text({ q: 'base64', sae: '2-res', model: 'synth' })).map((h) => `${h.sae}/${h.index}`)).toEqual(['2-res/0']);
    expect(await caller.search.text({ q: '&&& |!' })).toEqual([]);
    expect((await caller.search.text({ q: '"closing brackets"' })).map((h) => h.index)).toEqual([13]);
    expect(textQuery('  ')).toBeUndefined();
  });

  it('finds the features that peak most often on a token, and those with it in their top logits', async () => {
    const token = model.vocab[7]!; // " Lily"
    const result = await callerFor(null).search.token({ model: 'synth', token: token.trim() });
    expect(result.match).toMatchObject({ mode: 'exact' });
    expect(result.match.tokens.map((t) => t.id)).toContain(7);
    // Expected from the generated dashboards: features whose top examples peak on a matched id.
    const ids = new Set(result.match.tokens.map((t) => t.id));
    const firing = model.saes.flatMap((s) =>
      s.dashboards.flatMap((d) => {
        const n = d.topExamples.filter((e) => ids.has(e.tokens[e.maxPos]!)).length;
        return n ? [{ key: `${s.slug}/${d.index}`, n }] : [];
      }),
    );
    expect(result.firing.length).toBe(Math.min(30, new Set(firing.map((f) => f.key)).size));
    const best = Math.max(...firing.map((f) => f.n));
    expect(result.firing[0]!.examples).toBe(best);
    const promoting = model.saes
      .flatMap((s) => s.dashboards.flatMap((d) => d.logitWeights.top.filter((w) => ids.has(w.id)).map((w) => ({ key: `${s.slug}/${d.index}`, weight: w.value }))))
      .sort((a, b) => b.weight - a.weight)
      .slice(0, 30);
    expect(result.logits.map((h) => `${h.sae}/${h.index}`)).toEqual(promoting.map((p) => p.key));
    const weights = result.logits.map((h) => h.weight);
    expect(weights).toEqual([...weights].sort((a, b) => b - a));
  });

  it('parses feature addresses in their written forms', () => {
    expect(parseFeatureAddress('synth/1-res/12')).toEqual({ model: 'synth', sae: '1-res', index: 12 });
    expect(parseFeatureAddress('[[gpt2-small/6-res-jb/1234]]')).toEqual({ model: 'gpt2-small', sae: '6-res-jb', index: 1234 });
    expect(parseFeatureAddress('http://localhost:3000/synth/1-res/7?x=1')).toEqual({ model: 'synth', sae: '1-res', index: 7 });
    expect(parseFeatureAddress('base64 detector')).toBeUndefined();
    expect(parseFeatureAddress('a/b/c')).toBeUndefined();
  });
});

// ---- lists ------------------------------------------------------------------------------------------------------

describe('lists', () => {
  it('creates a list, adds features with notes, reorders, edits notes and removes entries', async () => {
    const caller = callerFor(editor);
    const { id } = await caller.list.create({ name: 'Detectors', description: 'Things that detect things' });
    await caller.list.addEntry({ id, address: 'synth/1-res/3', note: 'the clearest one' });
    await caller.list.addEntry({ id, address: '[[synth/1-res/13]]' });
    await caller.list.addEntry({ id, address: 'synth/2-res/0', note: 'same idea, other layer' });
    let list = await callerFor(null).list.get({ id });
    expect(list.entries.map((e) => `${e.sae}/${e.index}`)).toEqual(['1-res/3', '1-res/13', '2-res/0']);
    expect(list.entries[0]).toMatchObject({ note: 'the clearest one', label: 'base64 detector' });
    expect(list.entries[0]!.density).toBe(model.saes[0]!.dashboards[3]!.density);

    await caller.list.moveEntry({ id, address: 'synth/2-res/0', direction: 'up' });
    await caller.list.setNote({ id, address: 'synth/1-res/13', note: 'brackets' });
    // Adding a feature already there keeps its place.
    await caller.list.addEntry({ id, address: 'synth/1-res/3' });
    list = await callerFor(null).list.get({ id });
    expect(list.entries.map((e) => `${e.sae}/${e.index}:${e.note}`)).toEqual(['1-res/3:the clearest one', '2-res/0:same idea, other layer', '1-res/13:brackets']);

    await caller.list.removeEntry({ id, address: 'synth/1-res/3' });
    list = await callerFor(null).list.get({ id });
    expect(list.entries.map((e) => e.index)).toEqual([0, 13]);
    const index = await caller.list.index();
    expect(index.mine.map((l) => l.id)).toEqual([id]);
    expect(index.mine[0]!.entries).toBe(2);
  });

  it('lets only the owner (or an admin) change a list, and names bad addresses', async () => {
    const { id } = await callerFor(editor).list.create({ name: 'Mine' });
    await expect(callerFor(null).list.addEntry({ id, address: 'synth/1-res/1' })).rejects.toThrow(/sign in/);
    const other = await signUp({ name: 'Cy', email: 'cy@example.org', password: 'another password' });
    await expect(callerFor(other).list.addEntry({ id, address: 'synth/1-res/1' })).rejects.toThrow(/only the owner/);
    await callerFor(admin).list.addEntry({ id, address: 'synth/1-res/1' });
    await expect(callerFor(editor).list.addEntry({ id, address: 'synth/1-res/400' })).rejects.toThrow(/has 400 features/);
    await expect(callerFor(editor).list.addEntry({ id, address: 'synth/9-res/1' })).rejects.toThrow(/no SAE/);
    await expect(callerFor(editor).list.addEntry({ id, address: 'not an address' })).rejects.toThrow(/not a feature address/);
    await expect(callerFor(editor).list.create({ name: '  ' })).rejects.toThrow(/name/);
    await callerFor(editor).list.delete({ id });
    await expect(callerFor(null).list.get({ id })).rejects.toThrow(/no list/);
  });
});
