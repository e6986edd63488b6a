/**
 * The wiki layer against a real PostgreSQL through the real tRPC caller: history with word-level diffs and revert
 * (through the optimistic-concurrency path), the edit conflict, label proposals and votes (the winner becomes the
 * label in one transaction with its revision, a `label` event and notifications), recent changes and contributions
 * with filters and keyset pages, visibility of team SAEs, and 20 concurrent editors.
 */
import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureRevisions, labelProposals, labelVotes, notifications, resourceAccess, teamMembers, teams } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { EVENT_CHANNEL } from '@/server/events';
import { proposeFromSource } from '@/server/label-votes';
import { watch } from '@/server/notifications';
import { setRole, signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { makeEditors, runConcurrentEditors } from '../helpers/concurrent-editors';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let bo: UserRow;
let cy: UserRow;
let vi: UserRow;
let member: UserRow;

const at = (index: number, sae = 'open') => ({ model: 'wiki', sae, index });

async function rejects(promise: Promise<unknown>, code: TRPCError['code'], message?: RegExp) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  if (message) expect((err as TRPCError).message).toMatch(message);
}

const revisionCount = async (saeId: string, index: number) =>
  (await getDb().select().from(featureRevisions).where(and(eq(featureRevisions.saeId, saeId), eq(featureRevisions.index, index)))).length;

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  bo = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  cy = await signUp({ name: 'Cy', email: 'cy@example.org', password: 'battery staple' });
  vi = await signUp({ name: 'Vi', email: 'vi@example.org', password: 'battery staple' });
  member = await signUp({ name: 'Mo', email: 'mo@example.org', password: 'battery staple' });
  await setRole(getDb(), vi.id, 'viewer');
  vi = { ...vi, role: 'viewer' };
  model = await seedSyntheticModel(getDb(), {
    slug: 'wiki',
    saes: [
      { slug: 'open', hookName: 'blocks.1.hook_resid_post', dSae: 40 },
      { slug: 'secret', hookName: 'blocks.2.hook_resid_post', dSae: 40 },
    ],
    seed: 5,
  });
  // The 'secret' SAE belongs to a team with Mo as editor; nobody else (but the admin) may see it.
  const [team] = await getDb().insert(teams).values({ slug: 'lab', name: 'Lab' }).returning();
  await getDb().insert(teamMembers).values({ teamId: team!.id, userId: member.id, role: 'editor' });
  await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: model.saes[1]!.id, teamId: team!.id, visibility: 'team' });
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

describe('history, diff and revert', () => {
  it('lists revisions, diffs any two word by word, and reverts through the revision check', async () => {
    const f = at(1);
    await callerFor(bo).feature.edit({ ...f, label: 'quotation marks', body: 'Fires on the opening quote of speech.', summary: 'first', baseRevision: 0 });
    await callerFor(cy).feature.edit({ ...f, label: 'opening quotation marks', body: 'Fires on the opening quote of direct speech.', summary: 'more precise', baseRevision: 1 });

    const { revisions: history } = await callerFor(null).wiki.history(f);
    expect(history.map((r) => [r.revision, r.label, r.summary, r.author?.name])).toEqual([
      [2, 'opening quotation marks', 'more precise', 'Cy'],
      [1, 'quotation marks', 'first', 'Bo'],
    ]);

    // revert needs edit on this SAE: the history says who may
    expect((await callerFor(null).wiki.history(f)).can.edit).toBe(false);
    expect((await callerFor(vi).wiki.history(f)).can.edit).toBe(false);
    expect((await callerFor(bo).wiki.history(f)).can.edit).toBe(true);

    const diff = await callerFor(null).wiki.compare({ ...f, from: 1, to: 2 });
    expect(diff.label.filter((p) => p.kind !== 'same').map((p) => [p.kind, p.text.trim()])).toEqual([['ins', 'opening']]);
    expect(diff.body.filter((p) => p.kind === 'ins').map((p) => p.text.trim())).toEqual(['direct']);
    expect(diff.body.filter((p) => p.kind === 'del')).toEqual([]);
    // the reverse comparison turns insertions into deletions; rebuilding either side from the parts is exact
    const back = await callerFor(null).wiki.compare({ ...f, from: 2, to: 1 });
    expect(back.body.filter((p) => p.kind === 'del').map((p) => p.text.trim())).toEqual(['direct']);
    expect(back.body.filter((p) => p.kind !== 'ins').map((p) => p.text).join('')).toBe(diff.to.body);
    expect(back.body.filter((p) => p.kind !== 'del').map((p) => p.text).join('')).toBe(diff.from.body);
    await rejects(callerFor(null).wiki.compare({ ...f, from: 1, to: 9 }), 'NOT_FOUND', /no revision 9/);
    await rejects(callerFor(null).wiki.history({ model: 'wiki', sae: 'nope', index: 1 }), 'NOT_FOUND', /no feature wiki\/nope\/1/);
    await rejects(callerFor(null).wiki.history(at(40)), 'NOT_FOUND', /out of range: this SAE has features 0..39/);

    // Stale base: refused, nothing written. Viewers and visitors may not revert.
    await rejects(callerFor(bo).wiki.revert({ ...f, revision: 1, baseRevision: 1 }), 'CONFLICT', /now revision 2 by Cy/);
    await rejects(callerFor(vi).wiki.revert({ ...f, revision: 1, baseRevision: 2 }), 'FORBIDDEN', /editor role/);
    await rejects(callerFor(null).wiki.revert({ ...f, revision: 1, baseRevision: 2 }), 'UNAUTHORIZED');
    await rejects(callerFor(bo).wiki.revert({ ...f, revision: 7, baseRevision: 2 }), 'NOT_FOUND', /no revision 7/);
    expect(await revisionCount(model.saes[0]!.id, 1)).toBe(2);

    expect(await callerFor(bo).wiki.revert({ ...f, revision: 1, baseRevision: 2 })).toEqual({ revision: 3 });
    const current = await callerFor(null).feature.current(f);
    expect([current.label, current.body, current.revision, current.updatedBy]).toEqual(['quotation marks', 'Fires on the opening quote of speech.', 3, 'Bo']);
    const [latest] = (await callerFor(null).wiki.history(f)).revisions;
    expect([latest!.summary, latest!.author?.name]).toEqual(['Reverted to revision 1', 'Bo']);
  });

  it('still refuses an edit based on a stale revision, keeping the other version', async () => {
    const f = at(2);
    await callerFor(bo).feature.edit({ ...f, label: 'mine', body: 'a', summary: '', baseRevision: 0 });
    await rejects(callerFor(cy).feature.edit({ ...f, label: 'theirs', body: 'b', summary: '', baseRevision: 0 }), 'CONFLICT', /now revision 1 by Bo/);
    expect((await callerFor(null).feature.current(f)).label).toBe('mine');
  });
});

describe('label proposals and votes', () => {
  it('lets editors propose, users vote once per feature, and the winner (ties: the shown label, then the earliest) becomes the label', async () => {
    const f = at(3);
    const saeId = model.saes[0]!.id;
    await watch(getDb(), admin.id, 'feature', `${saeId}/3`);
    const listener = new pg.Client(database.url);
    await listener.connect();
    const events: { topic: string; type: string }[] = [];
    listener.on('notification', (n) => events.push(JSON.parse(n.payload!)));
    await listener.query(`listen ${EVENT_CHANNEL}`);

    const a = await callerFor(bo).wiki.propose({ ...f, label: 'dialogue start' });
    const b = await callerFor(cy).wiki.propose({ ...f, label: '  speech verbs ' });
    await rejects(callerFor(cy).wiki.propose({ ...f, label: 'dialogue start' }), 'BAD_REQUEST', /already proposed/);
    await rejects(callerFor(vi).wiki.propose({ ...f, label: 'nope' }), 'FORBIDDEN');
    await rejects(callerFor(bo).wiki.propose({ ...f, label: 'x'.repeat(201) }), 'BAD_REQUEST', /longer than 200/);
    await rejects(callerFor(null).wiki.vote({ ...f, proposalId: a.id }), 'UNAUTHORIZED');

    // A viewer's vote for B makes it the label, by them, with an event and a notification to the watcher.
    expect(await callerFor(vi).wiki.vote({ ...f, proposalId: b.id })).toEqual({ labelChanged: 'speech verbs', revision: 1 });
    let standing = await callerFor(vi).wiki.proposals(f);
    expect(standing.label).toBe('speech verbs');
    expect(standing.labelBy?.name).toBe('Vi');
    expect(standing.proposals.map((p) => [p.label, p.votes, p.mine, p.shown, p.author?.name])).toEqual([
      ['speech verbs', 1, true, true, 'Cy'],
      ['dialogue start', 0, false, false, 'Bo'],
    ]);
    const [revision] = (await callerFor(null).wiki.history(f)).revisions;
    expect([revision!.summary, revision!.author?.name]).toEqual(['Label chosen by vote: speech verbs', 'Vi']);
    const notes = await getDb().select().from(notifications).where(eq(notifications.userId, admin.id));
    expect(notes.map((n) => [n.kind, n.url])).toEqual([['label', '/wiki/open/3']]);
    expect(notes[0]!.summary).toBe('wiki/open/3 is now labelled “speech verbs”');
    expect(notes[0]!.actorId).toBe(vi.id);

    // A tie (1–1) keeps the shown label (B); Vi moving their vote to A (A 2, B 0) makes A the label.
    expect((await callerFor(bo).wiki.vote({ ...f, proposalId: a.id })).labelChanged).toBeNull();
    expect((await callerFor(vi).wiki.vote({ ...f, proposalId: a.id })).labelChanged).toBe('dialogue start');
    // Voting again for the same proposal changes nothing (one vote per user).
    expect(await callerFor(vi).wiki.vote({ ...f, proposalId: a.id })).toEqual({ labelChanged: null, revision: null });
    standing = await callerFor(null).wiki.proposals(f);
    expect(standing.proposals.map((p) => [p.label, p.votes])).toEqual([
      ['dialogue start', 2],
      ['speech verbs', 0],
    ]);
    // Unvoting: A 1, still the winner; then Cy's vote for B ties, and the shown label (A) keeps it.
    expect((await callerFor(vi).wiki.unvote(f)).labelChanged).toBeNull();
    expect((await callerFor(cy).wiki.vote({ ...f, proposalId: b.id })).labelChanged).toBeNull();
    // Bo withdrawing their vote makes B lead: the page says so, and does not credit Bo with choosing B.
    expect((await callerFor(bo).wiki.unvote(f)).labelChanged).toBe('speech verbs');
    standing = await callerFor(null).wiki.proposals(f);
    expect(standing.labelBy).toMatchObject({ name: 'Bo', how: 'withdrawal', withdrew: 'their vote', summary: 'Label changed because Bo withdrew their vote: speech verbs' });
    expect(await revisionCount(saeId, 3)).toBe(3);
    // one label event per revision a vote wrote, on the feature's topic, delivered on commit
    await new Promise((r) => setTimeout(r, 200));
    expect(events.filter((e) => e.type === 'label' && e.topic === `feature:${saeId}/3`)).toHaveLength(3);
    await listener.end();

    // A proposal of another feature, or a malformed id, is refused and nothing changes.
    const other = await callerFor(bo).wiki.propose({ ...at(4), label: 'elsewhere' });
    await rejects(callerFor(vi).wiki.vote({ ...f, proposalId: other.id }), 'BAD_REQUEST', /no such label proposal/);
    await rejects(callerFor(vi).wiki.vote({ ...f, proposalId: 'not-a-uuid' }), 'BAD_REQUEST', /proposal id/);
    expect(await getDb().select().from(labelVotes).where(eq(labelVotes.userId, vi.id))).toEqual([]);

    // A direct edit of the label joins the alternatives, by the editor, and shows at once.
    const current = await callerFor(null).feature.current(f);
    await callerFor(admin).feature.edit({ ...f, label: 'quoted speech', body: current.body, summary: 'my reading', baseRevision: current.revision });
    standing = await callerFor(null).wiki.proposals(f);
    expect(standing.label).toBe('quoted speech');
    expect(standing.labelBy?.name).toBe('Ada');
    expect(standing.labelBy?.how).toBe('edit');
    // The edit carries the editor's vote, so a rival proposal with one self-vote only ties it, and ties keep it.
    expect(standing.proposals.find((p) => p.label === 'quoted speech')).toMatchObject({ votes: 1, shown: true, author: { name: 'Ada' } });
    const rival = await callerFor(bo).wiki.propose({ ...f, label: 'narration' });
    expect((await callerFor(bo).wiki.vote({ ...f, proposalId: rival.id })).labelChanged).toBeNull();
    expect((await callerFor(null).feature.current(f)).label).toBe('quoted speech');

    // Authors withdraw their own proposals (with the votes for them), nobody else's.
    const quoted = standing.proposals.find((p) => p.label === 'quoted speech')!;
    await rejects(callerFor(bo).wiki.withdraw({ ...f, proposalId: quoted.id }), 'FORBIDDEN', /only its author/);
    expect((await callerFor(bo).wiki.withdraw({ ...f, proposalId: rival.id })).labelChanged).toBeNull();
    // Withdrawing the shown label's proposal hands the label to the next one with votes (B, Cy's vote), saying why.
    expect((await callerFor(admin).wiki.withdraw({ ...f, proposalId: quoted.id })).labelChanged).toBe('speech verbs');
    standing = await callerFor(null).wiki.proposals(f);
    expect(standing.proposals.map((p) => [p.label, p.votes])).toEqual([
      ['speech verbs', 1],
      ['dialogue start', 0],
    ]);
    expect(standing.labelBy).toMatchObject({ name: 'Ada', how: 'withdrawal', summary: 'Label changed because Ada withdrew the proposal “quoted speech”: speech verbs' });

    // A machine's proposal joins the alternatives with its provenance and no vote: the label people chose stays.
    const provenance = { by: 'auto (test-model)', source: 'auto' as const, model: 'test-model', prompt: 'p', answer: 'a' };
    expect(await proposeFromSource(getDb(), { saeId, index: 3 }, ' quotes ', provenance)).toMatchObject({ id: expect.any(String) });
    expect(await proposeFromSource(getDb(), { saeId, index: 3 }, 'quotes', provenance)).toBeNull();
    standing = await callerFor(null).wiki.proposals(f);
    expect(standing.label).toBe('speech verbs');
    expect(standing.proposals.find((p) => p.label === 'quotes')).toMatchObject({ votes: 0, shown: false, author: null, provenance });
  });
});

describe('recent changes and contributions', () => {
  it('lists revisions newest first with their kind, filters, and pages by keyset', async () => {
    const all = await callerFor(null).wiki.changes({});
    expect(all.changes.length).toBeGreaterThanOrEqual(8);
    const kinds = new Set(all.changes.map((c) => c.kind));
    expect(kinds).toEqual(new Set(['edit', 'revert', 'vote']));
    const times = all.changes.map((c) => c.at.getTime());
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    const vote = all.changes.find((c) => c.kind === 'vote' && c.label === 'dialogue start')!;
    expect([vote.previousLabel, vote.author?.name, vote.index]).toEqual(['speech verbs', 'Vi', 3]);

    const byCy = await callerFor(null).wiki.changes({ user: cy.id });
    expect(byCy.changes.map((c) => c.author?.name)).toEqual(Array(byCy.changes.length).fill('Cy'));
    expect(byCy.changes.length).toBeGreaterThan(0);
    // by handle: the name without spaces or the email's local part, any case, with or without @
    for (const user of ['@cy', 'CY', ' c y ']) expect((await callerFor(null).wiki.changes({ user })).changes).toEqual(byCy.changes);
    expect((await callerFor(null).wiki.changes({ user: '@nobody' })).changes).toEqual([]);
    expect((await callerFor(null).wiki.changes({ model: 'wiki', sae: 'open' })).changes).toHaveLength(all.changes.length);
    expect((await callerFor(null).wiki.changes({ model: 'nope' })).changes).toEqual([]);

    // pages of 3 walk the whole list once, in order
    const walked: string[] = [];
    let after: string | undefined;
    do {
      const page = await callerFor(null).wiki.changes({ limit: 3, after });
      walked.push(...page.changes.map((c) => c.id));
      after = page.next ?? undefined;
    } while (after);
    expect(walked).toEqual(all.changes.map((c) => c.id));
    await rejects(callerFor(null).wiki.changes({ after: 'garbage' }), 'BAD_REQUEST', /cursor is not valid/);
  });

  it('shows a user their revisions and proposals, and 404s an unknown user', async () => {
    const page = await callerFor(null).wiki.contributions({ user: bo.id });
    expect(page.user.name).toBe('Bo');
    expect(page.user.revisions).toBe(page.revisions.changes.length);
    expect(page.revisions.changes.every((c) => c.author?.id === bo.id)).toBe(true);
    expect(page.proposals.map((p) => p.label).sort()).toEqual(['dialogue start', 'elsewhere', 'mine', 'quotation marks']);
    expect(page.proposals.find((p) => p.label === 'quotation marks')?.shown).toBe(true);
    await rejects(callerFor(null).wiki.contributions({ user: 'nobody' }), 'NOT_FOUND', /no user nobody/);
  });

  it('leaves out SAEs the viewer may not see, everywhere', async () => {
    const f = at(5, 'secret');
    await callerFor(member).feature.edit({ ...f, label: 'hidden label', body: '', summary: 'team only', baseRevision: 0 });
    await callerFor(member).wiki.propose({ ...f, label: 'hidden proposal' });

    for (const who of [member, admin]) {
      expect((await callerFor(who).wiki.changes({})).changes.some((c) => c.label === 'hidden label')).toBe(true);
      expect((await callerFor(who).wiki.history(f)).revisions).toHaveLength(1);
      expect((await callerFor(who).wiki.history(f)).can.edit).toBe(true); // Mo edits as the team's editor
    }
    for (const who of [null, cy, vi]) {
      expect((await callerFor(who).wiki.changes({})).changes.some((c) => c.sae === 'secret')).toBe(false);
      expect((await callerFor(who).wiki.changes({ model: 'wiki', sae: 'secret' })).changes).toEqual([]);
      await rejects(callerFor(who).wiki.history(f), 'NOT_FOUND', /no feature wiki\/secret\/5/);
      await rejects(callerFor(who).wiki.proposals(f), 'NOT_FOUND');
      await rejects(callerFor(who).wiki.compare({ ...f, from: 1, to: 1 }), 'NOT_FOUND');
      const contributions = await callerFor(who).wiki.contributions({ user: member.id });
      expect([contributions.user.revisions, contributions.user.proposals, contributions.revisions.changes, contributions.proposals]).toEqual([0, 0, [], []]);
    }
    // outsiders cannot vote, propose or revert there either (and learn nothing: NOT_FOUND)
    const [hidden] = await getDb().select().from(labelProposals).where(eq(labelProposals.label, 'hidden proposal'));
    await rejects(callerFor(cy).wiki.vote({ ...f, proposalId: hidden!.id }), 'NOT_FOUND');
    await rejects(callerFor(cy).wiki.propose({ ...f, label: 'x' }), 'NOT_FOUND');
    await rejects(callerFor(cy).wiki.revert({ ...f, revision: 1, baseRevision: 1 }), 'NOT_FOUND');
    expect((await callerFor(member).wiki.contributions({ user: member.id })).user).toMatchObject({ revisions: 1, proposals: 2 });
  });
});

describe('concurrent votes', () => {
  it('keep one vote per user, and the label always the winner, with contiguous revisions', async () => {
    const f = at(11);
    const saeId = model.saes[0]!.id;
    const voters = await makeEditors(getDb(), 12, 'voter');
    const callers = voters.map((v) => callerFor({ id: v.id, role: 'editor', name: v.name, email: null } as UserRow));
    const proposals = [await callers[0]!.wiki.propose({ ...f, label: 'alpha' }), await callers[1]!.wiki.propose({ ...f, label: 'beta' })];
    // Every voter flips between the two proposals and sometimes withdraws, all at once, several rounds.
    await Promise.all(
      callers.map(async (caller, i) => {
        for (let round = 0; round < 4; round++) {
          if ((i + round) % 5 === 0) await caller.wiki.unvote(f);
          else await caller.wiki.vote({ ...f, proposalId: proposals[(i * 7 + round * 3) % 2]!.id });
        }
      }),
    );
    const votes = await getDb().select().from(labelVotes).where(and(eq(labelVotes.saeId, saeId), eq(labelVotes.index, 11)));
    expect(new Set(votes.map((v) => v.userId)).size).toBe(votes.length);
    const standing = await callerFor(null).wiki.proposals(f);
    const [first, second] = standing.proposals;
    expect(first!.votes).toBeGreaterThanOrEqual(second!.votes);
    if (first!.votes > 0) expect(standing.label).toBe(first!.label);
    const revisions = (await callerFor(null).wiki.history(f)).revisions.map((r) => r.revision).reverse();
    expect(revisions).toEqual(revisions.map((_, k) => k + 1));
  });
});

describe('concurrent editors', () => {
  it('20 editors × 5 rounds on one page: every accepted save is one revision, the rest are conflicts, nothing lost', async () => {
    const editors = await makeEditors(getDb(), 20);
    const result = await runConcurrentEditors(getDb(), { address: at(9), saeId: model.saes[0]!.id, editors, rounds: 5 });
    expect(result.violations).toEqual([]);
    expect(result.attempts).toBe(100);
    expect(result.accepted + result.conflicts).toBe(100);
    expect(result.newRevisions).toBe(result.accepted);
    expect(result.endRevision).toBe(result.accepted);
    // with 20 editors racing, some saves must have lost the race, and some must have won
    expect(result.conflicts).toBeGreaterThan(0);
    expect(result.accepted).toBeGreaterThan(5);
  });
});
