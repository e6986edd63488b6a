/**
 * Team-only SAEs and models are absent for outsiders and visitors everywhere existing code reads (home page lists,
 * activity, running jobs, search, feature pages, the SAE pages, lists, the jobs API), and present for members; teams
 * keep a maintainer; every role and visibility change leaves an audit row; compute jobs are rate limited per user.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureListEntries } from '@/drizzle/schema';
import { auditEntries } from '@/server/audit';
import { getDb, getPool } from '@/server/db';
import { enqueueJob } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import { JOB_RATE_PER_MINUTE } from '@/server/rate-limit';
import { addMember, createTeam, setAccess } from '@/server/teams';
import { signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { countRows, labelFeatures, seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let admin: UserRow;
let member: UserRow;
let outsider: UserRow;
let model: SyntheticModel;
let teamId: string;
let hiddenJob: string;
let listId: string;
/** a token the top examples of both SAEs peak on */
let token: string;

const HIDDEN = 'secret-sae';
const OPEN = 'open-sae';

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  member = await signUp({ name: 'Mo', email: 'mo@example.org', password: 'correct horse' });
  outsider = await signUp({ name: 'Ot', email: 'ot@example.org', password: 'correct horse' });
  model = await seedSyntheticModel(getDb(), {
    slug: 'vis',
    saes: [
      { slug: HIDDEN, hookName: 'blocks.1.hook_resid_post', dSae: 20 },
      { slug: OPEN, hookName: 'blocks.2.hook_resid_post', dSae: 20 },
    ],
    topExamples: 3,
  });
  const [hidden, open] = model.saes;
  await labelFeatures(getDb(), hidden!.id, [{ index: 1, label: 'zebra stripes' }], admin.id);
  await labelFeatures(getDb(), open!.id, [{ index: 1, label: 'zebra crossing' }], admin.id);
  teamId = (await createTeam(admin, { slug: 'lab', name: 'The Lab' })).id;
  await addMember(admin, teamId, member.email!, 'editor');
  await setAccess(admin, 'sae', hidden!.id, { teamId, visibility: 'team' }, 'the hidden SAE');
  hiddenJob = (
    await enqueueJob(await getQueue(), {
      type: 'activations',
      params: { saeId: hidden!.id, input: { text: 'Once' }, features: [1], topK: 5 },
      userId: member.id,
      modelId: model.id,
    })
  ).id;
  // an outsider's list that held both features before the SAE became the team's
  listId = (await callerFor(outsider).list.create({ name: 'zebras' })).id;
  await getDb()
    .insert(featureListEntries)
    .values([hidden, open].map((s, position) => ({ listId, saeId: s!.id, index: 1, note: '', position })));
  const piece = (hidden!.dashboards[1]!.topExamples[0]!.tokens as number[])[hidden!.dashboards[1]!.topExamples[0]!.maxPos]!;
  token = model.vocab[piece]!;
}, 120_000);

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

const saesOf = (rows: { slug: string }[]) => rows.map((r) => r.slug).sort();

describe('a team-only SAE', () => {
  it('is absent from the home page for outsiders and visitors, present for members', async () => {
    for (const [who, sees] of [
      [null, false],
      [() => outsider, false],
      [() => member, true],
      [() => admin, true],
    ] as const) {
      const caller = callerFor(typeof who === 'function' ? who() : null);
      const expected = sees ? [OPEN, HIDDEN] : [OPEN];
      expect(saesOf(await caller.model.saes())).toEqual(expected);
      expect(saesOf(await caller.sae.summaries())).toEqual(expected);
      expect(saesOf(await caller.sae.byModel({ model: 'vis' }))).toEqual(expected);
      expect((await caller.activity.recent()).map((e) => e.sae).sort()).toEqual(expected);
      expect((await caller.activity.jobs()).map((j) => j.id)).toEqual(sees ? [hiddenJob] : []);
    }
  });

  it('is absent from search results (labels and tokens)', async () => {
    for (const user of [null, outsider]) {
      const hits = await callerFor(user).search.text({ q: 'zebra' });
      expect(hits.map((h) => h.sae)).toEqual([OPEN]);
      const byToken = await callerFor(user).search.token({ model: 'vis', token });
      expect([...byToken.firing, ...byToken.logits].some((h) => h.sae === HIDDEN)).toBe(false);
    }
    expect((await callerFor(member).search.text({ q: 'zebra' })).map((h) => h.sae).sort()).toEqual([OPEN, HIDDEN]);
    expect((await callerFor(member).search.token({ model: 'vis', token })).firing.some((h) => h.sae === HIDDEN)).toBe(true);
  });

  it('answers NOT_FOUND on its feature pages, overview, table, queue and jobs, as if it did not exist', async () => {
    for (const user of [null, outsider]) {
      const caller = callerFor(user);
      await expect(caller.feature.get({ model: 'vis', sae: HIDDEN, index: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no feature vis/${HIDDEN}/1` });
      await expect(caller.feature.current({ model: 'vis', sae: HIDDEN, index: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(caller.sae.overview({ model: 'vis', sae: HIDDEN })).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no SAE "vis/${HIDDEN}"` });
      await expect(caller.sae.features({ model: 'vis', sae: HIDDEN })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(caller.sae.nextToLabel({ model: 'vis', sae: HIDDEN })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(caller.job.get({ id: hiddenJob })).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no job ${hiddenJob}` });
      expect((await caller.job.active({})).map((j) => j.id)).not.toContain(hiddenJob);
    }
    const page = await callerFor(member).feature.get({ model: 'vis', sae: HIDDEN, index: 1 });
    expect(page.page.label).toBe('zebra stripes');
    expect(page.can).toMatchObject({ read: true, edit: true, manage: false });
    expect((await callerFor(member).job.get({ id: hiddenJob })).id).toBe(hiddenJob);
  });

  it('keeps its hypotheses from outsiders in a public model: no page, no watch, no live stream', async () => {
    const { id } = await callerFor(member).hypothesis.create({ statement: 'stripes of a zebra', features: [`vis/${HIDDEN}/1`] });
    for (const user of [null, outsider]) {
      const caller = callerFor(user);
      await expect(caller.hypothesis.get({ id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const stream = (await caller.live.hypothesis({ id })) as AsyncIterable<unknown>;
      await expect((async () => { for await (const _ of stream) return; })()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    await expect(callerFor(outsider).notification.watch({ kind: 'hypothesis', targetId: id, watching: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await callerFor(member).notification.watch({ kind: 'hypothesis', targetId: id, watching: true })).toBe(true);
  });

  it('drops out of lists for those who cannot see it', async () => {
    const entries = async (user: UserRow | null) => (await callerFor(user).list.get({ id: listId })).entries.map((e) => e.sae);
    expect(await entries(outsider)).toEqual([OPEN]);
    expect(await entries(null)).toEqual([OPEN]);
    expect(await entries(member)).toEqual([HIDDEN, OPEN]);
    expect((await callerFor(outsider).list.index()).mine.find((l) => l.id === listId)?.entries).toBe(1);
    await expect(callerFor(outsider).list.addEntry({ id: listId, address: `vis/${HIDDEN}/2` })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('hides a whole team-only model, its SAEs and its jobs', async () => {
    await setAccess(admin, 'model', model.id, { teamId, visibility: 'team' }, 'model "vis"');
    try {
      const caller = callerFor(outsider);
      expect(await caller.model.list()).toEqual([]);
      expect(await caller.model.saes()).toEqual([]);
      await expect(caller.model.bySlug({ slug: 'vis' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no model "vis"' });
      await expect(caller.job.run({ model: 'vis', input: { text: 'Once' } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(caller.feature.get({ model: 'vis', sae: OPEN, index: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await caller.search.text({ q: 'zebra' })).toEqual([]);
      expect(saesOf(await callerFor(member).model.saes())).toEqual([OPEN, HIDDEN]);
    } finally {
      await setAccess(admin, 'model', model.id, { teamId: null, visibility: 'public' }, 'model "vis"');
    }
  });
});

describe('teams', () => {
  it('never lose their last maintainer, and members cannot manage them', async () => {
    const before = await countRows(getDb(), 'audit_log');
    await expect(callerFor(admin).team.setRole({ teamId, userId: admin.id, role: 'editor' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(callerFor(admin).team.removeMember({ teamId, userId: admin.id })).rejects.toThrow(/needs a maintainer/);
    await expect(callerFor(member).team.setRole({ teamId, userId: member.id, role: 'maintainer' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await countRows(getDb(), 'audit_log')).toBe(before);
    await expect(callerFor(outsider).team.create({ slug: 'lab', name: 'Dup' })).rejects.toThrow(/already exists/);
    // inviting answers alike whether or not the email has an account (server/teams.ts inviteMember)
    await expect(callerFor(member).team.invite({ teamId, email: 'nobody@example.org' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('show their members and only the resources the viewer may see', async () => {
    const forOutsider = await callerFor(outsider).team.get({ slug: 'lab' });
    expect(forOutsider.members.map((m) => m.name).sort()).toEqual(['Ada', 'Mo']);
    expect(forOutsider.members.every((m) => m.email === null)).toBe(true);
    expect(forOutsider.saes).toEqual([]);
    expect((await callerFor(member).team.get({ slug: 'lab' })).saes).toEqual([{ model: 'vis', slug: HIDDEN, visibility: 'team' }]);
    expect((await callerFor(member).team.list()).map((t) => [t.slug, t.role, t.members])).toContainEqual(['lab', 'editor', 2]);
    expect((await callerFor(null).team.list())[0]!.role).toBeNull();
  });
});

describe('the audit log', () => {
  it('has a row for each role, membership, account and visibility change, with before and after', async () => {
    await callerFor(admin).admin.setRole({ userId: outsider.id, role: 'viewer' });
    await callerFor(admin).admin.setDisabled({ userId: outsider.id, disabled: true });
    await callerFor(admin).admin.setDisabled({ userId: outsider.id, disabled: false });
    await expect(callerFor(admin).admin.setRole({ userId: admin.id, role: 'editor' })).rejects.toThrow(/only active admin/);
    await expect(callerFor(member).admin.audit()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const log = await callerFor(admin).admin.audit();
    const actions = log.map((e) => e.action);
    for (const action of ['team.create', 'team.member.add', 'access.set', 'user.role', 'user.disabled'])
      expect(actions, action).toContain(action);
    const role = log.find((e) => e.action === 'user.role' && e.targetId === outsider.id)!;
    expect(role).toMatchObject({ actor: 'Ada', target: 'Ot', detail: { before: 'editor', after: 'viewer' } });
    const access = log.find((e) => e.action === 'access.set' && e.targetKind === 'sae')!;
    expect(access).toMatchObject({ target: `vis/${HIDDEN}`, detail: { before: { team: null, visibility: 'public' }, after: { team: 'lab', visibility: 'team' } } });
    expect((await auditEntries(getDb(), { before: log[0]!.id, limit: 1 }))[0]!.id).toBe(log[1]!.id);
  });
});

describe('the compute rate limit', () => {
  it(`refuses a user's job beyond ${JOB_RATE_PER_MINUTE} a minute with when to try again; admins are exempt`, async () => {
    await getDb().execute(sql`delete from job`);
    const run = (user: UserRow) => callerFor(user).feature.activations({ model: 'vis', sae: OPEN, index: 1, input: { text: 'Once' } });
    for (let i = 0; i < JOB_RATE_PER_MINUTE; i++) await run(member);
    const jobs = await countRows(getDb(), 'job');
    await expect(run(member)).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', message: expect.stringMatching(/try again in ([1-9]|[1-5]\d|60) s$/) });
    await expect(callerFor(member).job.run({ model: 'vis', input: { text: 'Once' } })).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await countRows(getDb(), 'job')).toBe(jobs);
    await run(outsider); // another user is not affected
    for (let i = 0; i <= JOB_RATE_PER_MINUTE; i++) await run(admin);
  }, 120_000);
});
