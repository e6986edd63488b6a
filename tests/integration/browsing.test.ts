/**
 * Browsing without opening every page: feature cards (logits, peak tokens, snippet) in the feature table, for the
 * scatter's selection and in lists, and adding many features to a list at once, against a real PostgreSQL with
 * synthetic dashboards whose expected cards are worked out here from the generated data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { featureTable } from '@/server/saes';
import { CARD_TOKENS, SNIPPET_RADIUS, type FeatureCard } from '@/server/feature-cards';
import { createTeam, setAccess } from '@/server/teams';
import { setRole, signUp, type UserRow } from '@/server/users';
import type { FeatureDashboard } from '@/compute/dashboards/types';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { labelFeatures, seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;

const CONTEXT = 40;

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  model = await seedSyntheticModel(getDb(), {
    slug: 'synth',
    vocabSize: 64,
    contextSize: CONTEXT,
    topExamples: 8,
    saes: [
      { slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 300 },
      { slug: 'hidden', hookName: 'blocks.2.hook_resid_post', dSae: 20 },
    ],
    seed: 11,
  });
  await labelFeatures(getDb(), model.saes[0]!.id, [{ index: 4, label: 'cats' }], admin.id);
  const team = await createTeam(admin, { slug: 'lab', name: 'The Lab' });
  await setAccess(admin, 'sae', model.saes[1]!.id, { teamId: team.id, visibility: 'team' }, 'the hidden SAE');
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

/** The card a feature's generated dashboard should give, worked out without SQL. */
function expectedCard(d: FeatureDashboard): Omit<FeatureCard, 'label'> {
  const piece = (id: number) => model.vocab[id]!;
  const peaks = new Map<number, number>();
  for (const e of d.topExamples) {
    const token = e.tokens[e.maxPos]!;
    peaks.set(token, Math.max(peaks.get(token) ?? -Infinity, e.maxAct));
  }
  const top = d.topExamples[0];
  const start = top ? Math.max(0, top.maxPos - SNIPPET_RADIUS) : 0;
  return {
    index: d.index,
    density: d.density,
    nTokens: d.nTokens,
    logits: d.logitWeights.top.slice(0, CARD_TOKENS).map((w) => ({ piece: piece(w.id), value: w.value })),
    topTokens: [...peaks]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, CARD_TOKENS)
      .map(([id, value]) => ({ piece: piece(id), value })),
    snippet: top
      ? {
          pieces: top.tokens.slice(start, top.maxPos + SNIPPET_RADIUS + 1).map(piece),
          at: top.maxPos - start,
          maxAct: top.maxAct,
          clippedStart: start > 0,
          clippedEnd: top.maxPos + SNIPPET_RADIUS + 1 < top.tokens.length,
        }
      : null,
  };
}

describe('feature cards', () => {
  it('give each feature its top logits, peak tokens and snippet, in the order asked', async () => {
    const dashboards = model.saes[0]!.dashboards;
    const live = dashboards.filter((d) => d.topExamples.length >= 3);
    const dead = dashboards.find((d) => d.nonzeroCount === 0)!;
    const asked = [live[5]!.index, 4, dead.index, live[0]!.index];
    const cards = await callerFor(null).sae.cards({ model: 'synth', sae: '1-res', indices: asked });
    expect(cards.map((c) => c.index)).toEqual(asked);
    for (const card of cards) expect(card).toEqual({ ...expectedCard(dashboards[card.index]!), label: card.index === 4 ? 'cats' : null });
    // A dead feature has its logits but no examples; the snippets have their peak inside and are clipped as the context is.
    expect(cards[2]).toMatchObject({ topTokens: [], snippet: null });
    expect(cards[2]!.logits).toHaveLength(CARD_TOKENS);
    const snippets = live.map((d) => expectedCard(d).snippet!);
    expect(snippets.some((s) => s.clippedStart) && snippets.some((s) => !s.clippedStart)).toBe(true);
    expect(snippets.some((s) => s.clippedEnd) && snippets.some((s) => !s.clippedEnd)).toBe(true);
  });

  it('come with every row of the feature table, in one query for the page', async () => {
    const sae = model.saes[0]!;
    const page = await featureTable(getDb(), { id: sae.id, runId: sae.runId, pieces: model.vocab }, { sort: 'index', dir: 'asc', status: 'all', labelled: 'any', limit: 50 });
    expect(page.rows).toHaveLength(50);
    for (const row of page.rows) {
      const { index, density, nTokens, logits, topTokens, snippet } = row;
      expect({ index, density, nTokens, logits, topTokens, snippet }).toEqual(expectedCard(sae.dashboards[row.index]!));
    }
  });

  it('are refused for an SAE the viewer may not see, and capped', async () => {
    await expect(callerFor(editor).sae.cards({ model: 'synth', sae: 'hidden', indices: [1] })).rejects.toThrow(/no SAE/);
    await expect(callerFor(null).sae.cards({ model: 'synth', sae: '1-res', indices: Array.from({ length: 201 }, (_, i) => i) })).rejects.toThrow(/at most 200/);
  });
});

describe('adding many features to a list', () => {
  it('appends them in order, keeps those already there, and lists show their cards', async () => {
    const caller = callerFor(editor);
    const { id } = await caller.list.create({ name: 'Browsed' });
    await caller.list.addEntry({ id, address: 'synth/1-res/7', note: 'first' });
    expect(await caller.list.addEntries({ id, model: 'synth', sae: '1-res', indices: [12, 7, 3, 12] })).toEqual({ added: 2 });
    expect((await caller.list.mine()).map((l) => [l.name, l.entries])).toEqual([['Browsed', 3]]);
    const list = await callerFor(null).list.get({ id });
    expect(list.entries.map((e) => `${e.index}:${e.note}`)).toEqual(['7:first', '12:', '3:']);
    const dashboards = model.saes[0]!.dashboards;
    for (const e of list.entries) {
      const { logits, topTokens, snippet } = expectedCard(dashboards[e.index]!);
      expect({ logits: e.logits, topTokens: e.topTokens, snippet: e.snippet }).toEqual({ logits, topTokens, snippet });
    }
  });

  it('is the owner’s only, refuses unknown features and SAEs the actor may not see, all or nothing', async () => {
    const { id } = await callerFor(editor).list.create({ name: 'Guarded' });
    const add = (user: UserRow | null, indices: number[], sae = '1-res') => callerFor(user).list.addEntries({ id, model: 'synth', sae, indices });
    const viewer = await signUp({ name: 'Vi', email: 'vi@example.org', password: 'viewer password' });
    await setRole(getDb(), viewer.id, 'viewer');
    const other = await signUp({ name: 'Cy', email: 'cy@example.org', password: 'another password' });
    await expect(add(null, [1])).rejects.toThrow(/sign in/);
    await expect(add(viewer, [1])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(add(other, [1])).rejects.toThrow(/only the owner/);
    await expect(add(editor, [1, 300, 301])).rejects.toThrow('synth/1-res has 300 features: no feature 300, 301');
    await expect(add(editor, [1], 'hidden')).rejects.toThrow(/no SAE synth\/hidden/);
    await expect(add(editor, [])).rejects.toThrow(/at least one feature/);
    await expect(add(editor, Array.from({ length: 201 }, (_, i) => i))).rejects.toThrow(/at most 200/);
    // nothing was added by the refused calls
    expect((await callerFor(null).list.get({ id })).entries).toEqual([]);
    expect(await add(admin, [1, 2])).toEqual({ added: 2 });
  });
});
