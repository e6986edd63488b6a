/**
 * Access is checked when data is shown, not when it was written (issue 10, items 2–4), against a real PostgreSQL:
 * evidence must be about the hypothesis's own features and is listed only where its SAE is visible now; watchers who
 * lost access get no more notifications, and what they already have no longer shows its text; open live streams end
 * when their reader's access ends; jobs show their prompt, result and owner only to the owner, the SAE's maintainers
 * and admins, and to everyone else at most that a run exists. Each leak is asserted absent.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidence, jobs, notifications, resourceAccess, teamMembers, users } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { eventHub, featureTopic, publish } from '@/server/events';
import { currentPageVersion } from '@/server/descriptions';
import { HIDDEN_SUMMARY } from '@/server/notifications';
import { createTeam, removeMember, setAccess } from '@/server/teams';
import { setDisabled, type Role, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { EventLog, sleep } from '../helpers/events';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let teamId: string;
/** site admin; maintainer of team T (it made it) */
let admin: UserRow;
/** site editor, editor in team T: runs the jobs */
let owner: UserRow;
/** site editor, maintainer in team T */
let keeper: UserRow;
/** site editor, viewer in team T: watches, and is removed from the team */
let watcher: UserRow;
/** site editor in no team */
let outsider: UserRow;

const MODEL = 'acc';
const OPEN = 'open'; // public
const TEAM = 'team'; // team T's, visible to its members only
const SIDE = 'side'; // public, made private in a test
const saeId = (slug: string) => model.saes.find((s) => s.slug === slug)!.id;
const addr = (sae: string, index = 1) => `${MODEL}/${sae}/${index}`;

let n = 0;
async function account(role: Role): Promise<UserRow> {
  n += 1;
  const [row] = await getDb().insert(users).values({ name: `user${n}`, email: `user${n}@example.org`, role }).returning();
  return row!;
}

/** A finished job, as a worker would have left it. */
async function finishedJob(user: UserRow, type: 'activations' | 'ablate' | 'run', sae: string | null, extra: Partial<typeof jobs.$inferInsert> = {}): Promise<string> {
  const id = crypto.randomUUID();
  const input = { text: `the secret prompt of ${user.name}` };
  const params =
    type === 'run' ? { modelId: model.id, input, top: 5, generate: 0 } : type === 'ablate' ? { saeId: saeId(sae!), feature: 1, input, mode: 'zero', top: 10 } : { saeId: saeId(sae!), input, features: [1], topK: 5 };
  await getDb()
    .insert(jobs)
    .values({
      id,
      type,
      params,
      userId: user.id,
      modelId: model.id,
      status: 'done',
      progress: 1,
      result: { tokens: [1, 2], features: { '1': [0, 4.25] }, secret: 'the secret result' },
      provenance: { model: 'synthetic-acc', backend: 'cpu' },
      finishedAt: new Date(),
      ...extra,
    });
  return id;
}

/** A subscription's yields are tracked envelopes [id, data]: the data. */
const data = <T,>(e: unknown) => (Array.isArray(e) ? e[1] : e) as T;
type Live = { type: string; id?: string; count?: number };

function stream(iterable: unknown) {
  return new EventLog<Live>(
    (async function* () {
      for await (const e of iterable as AsyncIterable<unknown>) yield data<Live>(e);
    })(),
  );
}

/** Whether the stream ended (its iterator finished) within `ms`. */
async function endsWithin(log: EventLog<Live>, ms = 10_000): Promise<boolean> {
  return Promise.race([log.done.then(() => true), sleep(ms).then(() => false)]);
}

async function label(user: UserRow, sae: string, index: number, text: string) {
  const { revision } = await currentPageVersion(getDb(), saeId(sae), index);
  await callerFor(user).feature.edit({ model: MODEL, sae, index, label: text, body: '', baseRevision: revision });
}

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await account('admin');
  owner = await account('editor');
  keeper = await account('editor');
  watcher = await account('editor');
  outsider = await account('editor');
  model = await seedSyntheticModel(getDb(), {
    slug: MODEL,
    saes: [
      { slug: OPEN, hookName: 'blocks.0.hook_resid_post', dSae: 16 },
      { slug: TEAM, hookName: 'blocks.1.hook_resid_post', dSae: 16 },
      { slug: SIDE, hookName: 'blocks.2.hook_resid_post', dSae: 16 },
    ],
  });
  teamId = (await createTeam(admin, { slug: 'lab', name: 'The Lab' })).id;
  await getDb()
    .insert(teamMembers)
    .values([
      { teamId, userId: owner.id, role: 'editor' },
      { teamId, userId: keeper.id, role: 'maintainer' },
      { teamId, userId: watcher.id, role: 'viewer' },
    ]);
  await setAccess(admin, 'sae', saeId(TEAM), { teamId, visibility: 'team' }, 'the team SAE');
  await eventHub().ready();
}, 120_000);

afterAll(async () => {
  await eventHub().close();
  await getPool().end();
  await database?.stop();
});

// ---------------------------------------------------------------------------------------------------------------

describe('jobs', () => {
  const leaks = (view: unknown, owner: UserRow) => {
    const text = JSON.stringify(view);
    return ['secret prompt', 'secret result', owner.id].filter((s) => text.includes(s));
  };

  it('job.get shows the prompt, result and owner to the owner, the SAE’s maintainers and admins; others learn only that it exists', async () => {
    const onTeam = await finishedJob(owner, 'activations', TEAM);
    const onOpen = await finishedJob(owner, 'activations', OPEN);
    const failed = await finishedJob(owner, 'activations', OPEN, { status: 'failed', result: null, error: 'token 99 of "the secret prompt" is out of range' });
    // the team SAE: its members see that the job exists; outsiders and visitors not even that
    for (const who of [owner, keeper, admin]) {
      const job = await callerFor(who).job.get({ id: onTeam });
      expect(job.redacted).toBe(false);
      expect(job.params).toMatchObject({ input: { text: `the secret prompt of ${owner.name}` } });
      expect(job).toMatchObject({ userId: owner.id, result: { secret: 'the secret result' } });
    }
    const seen = await callerFor(watcher).job.get({ id: onTeam });
    expect(seen).toMatchObject({ id: onTeam, type: 'activations', status: 'done', progress: 1, redacted: true, params: null, result: null, userId: null, provenance: null });
    expect(leaks(seen, owner)).toEqual([]);
    for (const who of [outsider, null]) await expect(callerFor(who).job.get({ id: onTeam })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // a public SAE: its maintainers are the admins; everyone else, signed in or not, sees a run and its status
    for (const who of [owner, admin]) expect((await callerFor(who).job.get({ id: onOpen })).redacted).toBe(false);
    for (const who of [keeper, watcher, outsider, null]) {
      const job = await callerFor(who).job.get({ id: onOpen });
      expect(job).toMatchObject({ id: onOpen, status: 'done', redacted: true });
      expect(leaks(job, owner)).toEqual([]);
      const error = await callerFor(who).job.get({ id: failed });
      expect(error).toMatchObject({ status: 'failed', error: null });
      expect(leaks(error, owner)).toEqual([]);
    }
    expect((await callerFor(owner).job.get({ id: failed })).error).toContain('secret prompt');
  });

  it('job.recent, job.latest and job.active leave out other users’ prompts, results and ids, and the home page’s jobs under way too', async () => {
    await getDb().execute(sql`delete from job`);
    const run = await finishedJob(owner, 'run', null);
    const running = await finishedJob(owner, 'activations', OPEN, { status: 'running', result: null, finishedAt: null, progress: 0.5, progressDetail: { phase: 'activations', done: 5, total: 10 } });
    for (const who of [outsider, keeper, null]) {
      const caller = callerFor(who);
      const recent = await caller.job.recent({ model: MODEL });
      expect(recent.map((j) => [j.id, j.redacted])).toEqual([[run, true]]);
      const latest = await caller.job.latest({ type: 'run' });
      expect(latest).toMatchObject({ id: run, redacted: true });
      const active = await caller.job.active({});
      expect(active.map((j) => j.id)).toEqual([running]);
      // the progress of a run is what may be known of it
      expect(active[0]).toMatchObject({ progress: 0.5, progressDetail: { phase: 'activations' }, redacted: true });
      const home = await caller.activity.jobs();
      expect(home.map((j) => j.id)).toEqual([running]);
      for (const view of [recent, latest, active, home]) expect(leaks(view, owner)).toEqual([]);
    }
    for (const who of [owner, admin]) {
      const caller = callerFor(who);
      expect((await caller.job.recent({ model: MODEL }))[0]).toMatchObject({ id: run, redacted: false, userId: owner.id, params: { input: { text: expect.stringContaining('secret prompt') } } });
      expect(await caller.job.latest({ type: 'run' })).toMatchObject({ redacted: false, result: { secret: 'the secret result' } });
      expect((await caller.job.active({}))[0]).toMatchObject({ redacted: false, userId: owner.id });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('evidence', () => {
  let hypothesis: string;
  beforeAll(async () => {
    ({ id: hypothesis } = await callerFor(owner).hypothesis.create({ statement: 'Open feature 1 fires on cats', features: [addr(OPEN)] }));
  });

  const evidenceOf = async (who: UserRow | null) => (await callerFor(who).hypothesis.get({ id: hypothesis })).evidence;

  it('refuses a job on a team-only SAE (or another feature) as evidence on a public hypothesis', async () => {
    const onTeam = await finishedJob(owner, 'activations', TEAM);
    await expect(callerFor(owner).hypothesis.saveEvidence({ hypothesisId: hypothesis, source: { kind: 'job', jobId: onTeam } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('a feature the hypothesis is not about'),
    });
    const otherFeature = await finishedJob(owner, 'ablate', OPEN);
    await getDb().execute(sql`update job set params = jsonb_set(params, '{feature}', '2') where id = ${otherFeature}`);
    await expect(callerFor(owner).hypothesis.saveEvidence({ hypothesisId: hypothesis, source: { kind: 'job', jobId: otherFeature } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      callerFor(owner).hypothesis.saveEvidence({ hypothesisId: hypothesis, source: { kind: 'snapshot', feature: { model: MODEL, sae: TEAM, index: 1 } } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // and a new hypothesis about the open feature cannot carry it either (nothing is written)
    await expect(
      callerFor(owner).hypothesis.saveEvidence({ newHypothesis: { statement: 'sneaky', features: [addr(OPEN)] }, source: { kind: 'job', jobId: onTeam } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await getDb().select().from(evidence)).toEqual([]);
    expect((await callerFor(owner).hypothesis.list({})).rows.map((h) => h.statement)).not.toContain('sneaky');
  });

  it('refuses another user’s job: saving it would publish their prompt', async () => {
    const theirs = await finishedJob(owner, 'activations', OPEN);
    await expect(callerFor(outsider).hypothesis.saveEvidence({ hypothesisId: hypothesis, source: { kind: 'job', jobId: theirs } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const saved = await callerFor(owner).hypothesis.saveEvidence({ hypothesisId: hypothesis, source: { kind: 'job', jobId: theirs } });
    expect((await evidenceOf(null)).map((e) => e.id)).toEqual([saved.id]);
  });

  it('lists only evidence whose SAE the reader may see now: older evidence from a team’s SAE, and evidence whose SAE became private', async () => {
    const visibleBefore = (await evidenceOf(null)).map((e) => e.id);
    // evidence saved before it had to be about the hypothesis's features: one on the team SAE, one on a public SAE
    const legacy = async (sae: string) => {
      const jobId = await finishedJob(owner, 'activations', sae);
      const [row] = await getDb()
        .insert(evidence)
        .values({ hypothesisId: hypothesis, kind: 'activations', saeId: saeId(sae), featureIndex: 1, jobId, params: { saeId: saeId(sae), input: { text: `the secret prompt (legacy, ${sae})` } }, result: { secret: 'the secret result' }, provenance: {}, note: '', addedBy: owner.id })
        .returning();
      return row!.id;
    };
    const onTeam = await legacy(TEAM);
    const onSide = await legacy(SIDE);
    for (const who of [null, outsider, watcher, owner]) {
      const shown = (await evidenceOf(who)).map((e) => e.id);
      const member = who === watcher || who === owner;
      expect(shown).toEqual([...visibleBefore, ...(member ? [onTeam] : []), onSide]);
    }
    // the side SAE becomes its maintainer's private SAE
    await setAccess(admin, 'sae', saeId(SIDE), { teamId: null, visibility: 'private' }, 'the side SAE');
    try {
      for (const who of [null, outsider, owner]) {
        const h = await callerFor(who).hypothesis.get({ id: hypothesis });
        expect(h.evidence.map((e) => e.id)).toEqual([...visibleBefore, ...(who === owner ? [onTeam] : [])]);
        expect(JSON.stringify(h)).not.toContain('legacy, side');
        // the count on the list agrees with what is listed
        expect((await callerFor(who).hypothesis.list({})).rows.find((r) => r.id === hypothesis)!.evidence).toBe(h.evidence.length);
      }
      expect((await evidenceOf(admin)).map((e) => e.id)).toEqual([...visibleBefore, onTeam, onSide]);
      // nor can it be re-run by those who cannot see it
      await expect(callerFor(outsider).hypothesis.rerun({ evidenceId: onSide })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await setAccess(admin, 'sae', saeId(SIDE), { teamId: null, visibility: 'public' }, 'the side SAE');
      await getDb().delete(evidence).where(sql`id in (${onTeam}, ${onSide})`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('notifications', () => {
  const mine = (user: UserRow) => getDb().select().from(notifications).where(eq(notifications.userId, user.id));

  it('a watcher removed from the team gets no notification of later labels, comments or statuses, and those they have no longer show their text', async () => {
    const feature = { kind: 'feature' as const, targetId: `${saeId(TEAM)}/3` };
    await callerFor(watcher).notification.watch({ ...feature, watching: true });
    const { id: hypothesis } = await callerFor(keeper).hypothesis.create({ statement: 'Team feature 3 is the secret statement', features: [addr(TEAM, 3)] });
    await callerFor(watcher).notification.watch({ kind: 'hypothesis', targetId: hypothesis, watching: true });

    await label(owner, TEAM, 3, 'the secret label');
    await callerFor(owner).comment.post({ target: { kind: 'feature', saeId: saeId(TEAM), index: 3 }, body: 'a first comment' });
    await callerFor(keeper).hypothesis.setStatus({ id: hypothesis, status: 'supported' });
    const before = await mine(watcher);
    expect(before.map((r) => r.kind).sort()).toEqual(['comment', 'hypothesis-status', 'label']);
    const listed = await callerFor(watcher).notification.list();
    expect(listed.map((r) => r.hidden)).toEqual([false, false, false]);
    expect(listed.map((r) => r.summary).join(' ')).toContain('the secret label');

    await removeMember(admin, teamId, watcher.id);
    try {
      await label(owner, TEAM, 3, 'the next secret label');
      await callerFor(owner).comment.post({ target: { kind: 'feature', saeId: saeId(TEAM), index: 3 }, body: 'a later comment' });
      await callerFor(keeper).hypothesis.setStatus({ id: hypothesis, status: 'refuted' });
      expect((await mine(watcher)).map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());

      // what they already have: kind and time, not the summary, the link or who did it
      const now = await callerFor(watcher).notification.list();
      expect(now.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
      for (const r of now) expect(r).toMatchObject({ hidden: true, summary: HIDDEN_SUMMARY, url: '/notifications', actor: null });
      const text = JSON.stringify(now);
      for (const secret of ['secret', `${MODEL}/${TEAM}`, hypothesis, owner.name!]) expect(text).not.toContain(secret);
      // the unread count still counts them, and they can be marked read
      expect(await callerFor(watcher).notification.unreadCount()).toBe(3);
      await callerFor(watcher).notification.markAllRead();
      expect(await callerFor(watcher).notification.unreadCount()).toBe(0);
    } finally {
      await getDb().insert(teamMembers).values({ teamId, userId: watcher.id, role: 'viewer' });
    }
    // back in the team: they read them again, and hear of what happens next
    expect((await callerFor(watcher).notification.list()).every((r) => !r.hidden)).toBe(true);
    await label(owner, TEAM, 3, 'a label they may see');
    expect((await mine(watcher)).length).toBe(before.length + 1);
  });

  it('a disabled account is not notified; nor is a watcher of an SAE made private', async () => {
    const target = { kind: 'sae' as const, targetId: saeId(SIDE) };
    await callerFor(outsider).notification.watch({ ...target, watching: true });
    await callerFor(watcher).notification.watch({ kind: 'feature', targetId: `${saeId(SIDE)}/4`, watching: true });
    await setAccess(admin, 'sae', saeId(SIDE), { teamId: null, visibility: 'private' }, 'the side SAE');
    const count = async (u: UserRow) => (await mine(u)).length;
    const [o, w] = [await count(outsider), await count(watcher)];
    try {
      await label(admin, SIDE, 4, 'a private label');
      await callerFor(admin).comment.post({ target: { kind: 'sae', saeId: saeId(SIDE) }, body: 'a private comment' });
      expect([await count(outsider), await count(watcher)]).toEqual([o, w]);
    } finally {
      await setAccess(admin, 'sae', saeId(SIDE), { teamId: null, visibility: 'public' }, 'the side SAE');
    }
    await setDisabled(getDb(), outsider.id, true);
    try {
      await callerFor(admin).comment.post({ target: { kind: 'sae', saeId: saeId(SIDE) }, body: 'a public comment' });
      expect(await count(outsider)).toBe(o);
    } finally {
      await setDisabled(getDb(), outsider.id, false);
    }
    await callerFor(admin).comment.post({ target: { kind: 'sae', saeId: saeId(SIDE) }, body: 'another public comment' });
    expect(await count(outsider)).toBe(o + 1);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('live streams', () => {
  it('a feature stream ends when its reader leaves the team (the access event), without relaying what follows', async () => {
    const abort = new AbortController();
    const log = stream(await callerFor(watcher, { signal: abort.signal }).live.feature({ model: MODEL, sae: TEAM, index: 5 }));
    try {
      await log.next((e) => e.type === 'presence');
      await label(owner, TEAM, 5, 'still a member');
      await log.next((e) => e.type === 'label');
      await removeMember(admin, teamId, watcher.id);
      expect(await endsWithin(log)).toBe(true);
      expect(log.seen.at(-1)).toEqual({ type: 'access' });
      const seen = log.seen.length;
      await label(owner, TEAM, 5, 'no longer a member');
      await sleep(300);
      expect(log.seen.length).toBe(seen);
      // and it cannot be opened again
      const again = await callerFor(watcher).live.feature({ model: MODEL, sae: TEAM, index: 5 });
      await expect((async () => { for await (const _ of again as AsyncIterable<unknown>) return; })()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      abort.abort();
      await getDb().insert(teamMembers).values({ teamId, userId: watcher.id, role: 'viewer' }).onConflictDoNothing();
    }
  });

  it('a stream checks access again before relaying an event, also when access changed without an access event', async () => {
    const abort = new AbortController();
    const log = stream(await callerFor(null, { signal: abort.signal }).live.feature({ model: MODEL, sae: SIDE, index: 6 }));
    try {
      await log.next((e) => e.type === 'presence');
      // written straight into the table: no audit row, no access event
      await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: saeId(SIDE), visibility: 'private', ownerId: admin.id });
      await publish(getDb(), { topic: featureTopic(saeId(SIDE), 6), type: 'comment', id: 'after' });
      expect(await endsWithin(log)).toBe(true);
      expect(log.seen.map((e) => e.id)).not.toContain('after');
      expect(log.seen.at(-1)).toEqual({ type: 'access' });
    } finally {
      abort.abort();
      await getDb().delete(resourceAccess).where(and(eq(resourceAccess.kind, 'sae'), eq(resourceAccess.resourceId, saeId(SIDE))));
    }
  });

  it('a hypothesis stream ends when one of its SAEs becomes private; the notification stream when the account is disabled', async () => {
    const { id } = await callerFor(owner).hypothesis.create({ statement: 'Side feature 7', features: [addr(SIDE, 7)] });
    const abort = new AbortController();
    const hypothesis = stream(await callerFor(outsider, { signal: abort.signal }).live.hypothesis({ id }));
    const inbox = stream(await callerFor(outsider, { signal: abort.signal }).live.notifications());
    try {
      await sleep(500); // subscribed (they yield nothing until an event)
      await callerFor(owner).hypothesis.vote({ id, value: 1 });
      await hypothesis.next((e) => e.type === 'hypothesis');
      await setAccess(admin, 'sae', saeId(SIDE), { teamId: null, visibility: 'private' }, 'the side SAE');
      expect(await endsWithin(hypothesis)).toBe(true);
      expect(await endsWithin(inbox, 500)).toBe(false); // the account is still fine
      await setDisabled(getDb(), outsider.id, true);
      expect(await endsWithin(inbox)).toBe(true);
      expect(inbox.seen.at(-1)).toEqual({ type: 'access' });
    } finally {
      abort.abort();
      await setDisabled(getDb(), outsider.id, false);
      await setAccess(admin, 'sae', saeId(SIDE), { teamId: null, visibility: 'public' }, 'the side SAE');
    }
  });
});
