/**
 * Hypotheses end to end below the browser: created through tRPC on features of the real stories260K model with the
 * fixture SAE (dashboards computed here) and of a synthetic model; status history, votes, notifications; evidence
 * saved from real finished panel jobs (run in this process as a worker would) and from the dashboards; re-runs that
 * reproduce, and a tampered saved result reported as differing; visibility; the feature table's hypotheses filter.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidence, featureLinks, hypotheses, jobs, notifications, resourceAccess } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { compareEvidence } from '@/server/evidence';
import { getQueue } from '@/server/jobs/queue';
import { watch } from '@/server/notifications';
import { JOB_RATE_PER_MINUTE } from '@/server/rate-limit';
import { setRole, signUp, type UserRow } from '@/server/users';
import { initBackend } from '@/compute/backend';
import { executeJob } from '@/worker/jobs';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards } from '../helpers/stories';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let admin: UserRow;
let editor: UserRow;
let viewer: UserRow;
let backend: string;
let feature: number;
let synthetic: SyntheticModel;
const TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play with her ball.';

const addr = (index = feature) => `stories260K/l2/${index}`;

async function execute(id: string) {
  await executeJob(getDb(), { id: 'test-worker', backend }, id);
  return (await getDb().query.jobs.findFirst({ where: eq(jobs.id, id) }))!;
}

const count = async (table: typeof hypotheses | typeof evidence) => (await getDb().select({ n: sql<number>`count(*)::int` }).from(table))[0]!.n;

beforeAll(async () => {
  database = await startTestDatabase();
  backend = await initBackend();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
  viewer = await signUp({ name: 'Vi', email: 'vi@example.org', password: 'correct horse' });
  await setRole(getDb(), viewer.id, 'viewer');
  viewer = { ...viewer, role: 'viewer' };
  await seedStoriesDashboards(getDb());
  // the feature most active anywhere in TEXT, as Test your text's "most active features" lists them
  const probe = await execute((await callerFor(editor).feature.activations({ model: 'stories260K', sae: 'l2', index: 0, input: { text: TEXT } })).id);
  const top = (probe.result as { top: { feature: number; act: number }[][] }).top.flat();
  feature = top.reduce((best, a) => (a.act > best.act ? a : best)).feature;
  synthetic = await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: 'open', hookName: 'blocks.0.hook_resid_post', dSae: 32 }, { slug: 'secret', hookName: 'blocks.1.hook_resid_post', dSae: 32 }] });
  // synth/secret is the admin's private SAE
  await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: synthetic.saes[1]!.id, ownerId: admin.id, visibility: 'private' });
}, 300_000);

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('hypotheses', () => {
  let id: string;

  it('are created about features of one model, open, with their author watching', async () => {
    ({ id } = await callerFor(editor).hypothesis.create({
      statement: 'This feature detects the name Lily',
      body: 'See [[stories260K/l2/1]] too. $x^2$',
      features: [addr(), `[[${addr(1)}]]`, `http://localhost:3000/${addr()}`],
    }));
    const h = await callerFor(editor).hypothesis.get({ id });
    expect(h.statement).toBe('This feature detects the name Lily');
    expect(h.status).toBe('open');
    expect(h.features.map((f) => `${f.model}/${f.sae}/${f.index}`).sort()).toEqual([addr(), addr(1)].sort()); // the duplicate counted once
    expect(h.history).toMatchObject([{ status: 'open', userName: 'Ed' }]);
    expect(h.html).toContain('href="/stories260K/l2/1"');
    // its text's feature links feed the linked features' backlinks
    expect((await getDb().select().from(featureLinks).where(eq(featureLinks.sourceId, id))).map((l) => [l.sourceKind, l.saeSlug, l.index])).toEqual([['hypothesis', 'l2', 1]]);
    expect(h.can).toEqual({ edit: true, vote: true, compute: true });
    expect((await callerFor(viewer).hypothesis.get({ id })).can).toEqual({ edit: false, vote: true, compute: true });
    expect((await callerFor(null).hypothesis.get({ id })).can.vote).toBe(false);
  });

  it('refuse unknown, out-of-range and other-model features, oversized statements and viewers, writing nothing', async () => {
    const before = await count(hypotheses);
    const create = (features: string[], statement = 'x', user = editor) => callerFor(user).hypothesis.create({ statement, features });
    await expect(create(['stories260K/nope/3'])).rejects.toThrow('no SAE "stories260K/nope"');
    await expect(create([addr(99_999)])).rejects.toThrow(/feature stories260K\/l2\/99999 is out of range: this SAE has features 0\.\.\d+/);
    await expect(create(['not an address'])).rejects.toThrow('"not an address" is not a feature address');
    await expect(create([addr(), 'synth/open/3'])).rejects.toThrow('a hypothesis is about features of one model; these are from stories260K, synth');
    await expect(create([addr()], 'x'.repeat(501))).rejects.toThrow('the statement is longer than 500 characters');
    await expect(create([addr()], 'fine', viewer)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // an SAE the author may not see does not exist for them
    await expect(create(['synth/secret/3'])).rejects.toThrow('no SAE "synth/secret"');
    await expect(callerFor(null).hypothesis.create({ statement: 'x', features: [addr()] })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await count(hypotheses)).toBe(before);
  });

  it('keep every status change with who made it and why, and notify watchers', async () => {
    await watch(getDb(), admin.id, 'hypothesis', id);
    await callerFor(editor).hypothesis.setStatus({ id, status: 'supported', note: 'fires on every Lily' });
    await callerFor(admin).hypothesis.setStatus({ id, status: 'refuted', note: 'also fires on Tom' });
    await expect(callerFor(viewer).hypothesis.setStatus({ id, status: 'open' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerFor(editor).hypothesis.setStatus({ id, status: 'open', note: 'n'.repeat(2001) })).rejects.toThrow('the note is longer than 2000 characters');
    const h = await callerFor(viewer).hypothesis.get({ id });
    expect(h.status).toBe('refuted');
    expect(h.statusChangedByName).toBe('Ada');
    expect(h.history.map((c) => [c.status, c.userName, c.note])).toEqual([
      ['open', 'Ed', 'proposed'],
      ['supported', 'Ed', 'fires on every Lily'],
      ['refuted', 'Ada', 'also fires on Tom'],
    ]);
    // the admin heard of Ed's change, Ed (the author, watching) of the admin's; nobody of their own
    const notes = await getDb().select().from(notifications).where(eq(notifications.kind, 'hypothesis-status'));
    expect(notes.map((n) => [n.userId, n.summary])).toEqual(
      expect.arrayContaining([
        [admin.id, 'marked supported: This feature detects the name Lily'],
        [editor.id, 'marked refuted: This feature detects the name Lily'],
      ]),
    );
    expect(notes).toHaveLength(2);
    await callerFor(editor).hypothesis.setStatus({ id, status: 'open' });
  });

  it('take one vote per user, which can change or be taken back', async () => {
    await callerFor(editor).hypothesis.vote({ id, value: 1 });
    await callerFor(viewer).hypothesis.vote({ id, value: -1 });
    expect(await callerFor(admin).hypothesis.vote({ id, value: -1 })).toEqual({ score: -1, mine: -1 });
    await callerFor(editor).hypothesis.vote({ id, value: -1 });
    let h = await callerFor(editor).hypothesis.get({ id });
    expect([h.score, h.votes, h.myVote]).toEqual([-3, 3, -1]);
    await callerFor(admin).hypothesis.vote({ id, value: 0 });
    h = await callerFor(editor).hypothesis.get({ id });
    expect([h.score, h.votes]).toEqual([-2, 2]);
    await expect(callerFor(null).hypothesis.vote({ id, value: 1 })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('are listed by status, feature, SAE and author', async () => {
    const other = await callerFor(admin).hypothesis.create({ statement: 'Feature 2 is about balls', features: [addr(2)] });
    await callerFor(admin).hypothesis.setStatus({ id: other.id, status: 'inconclusive' });
    const synthOnly = await callerFor(editor).hypothesis.create({ statement: 'Synthetic 3', features: ['synth/open/3'] });
    const list = async (filter: Parameters<ReturnType<typeof callerFor>['hypothesis']['list']>[0]) =>
      (await callerFor(editor).hypothesis.list(filter)).rows.map((r) => r.id);
    expect(await list({})).toEqual([synthOnly.id, other.id, id]);
    expect(await list({ status: 'open' })).toEqual([synthOnly.id, id]);
    expect(await list({ status: 'inconclusive' })).toEqual([other.id]);
    expect(await list({ feature: addr(1) })).toEqual([id]);
    expect(await list({ sae: 'stories260K/l2' })).toEqual([other.id, id]);
    expect(await list({ author: admin.id })).toEqual([other.id]);
    const first = await callerFor(editor).hypothesis.list({ limit: 2 });
    expect(first.rows).toHaveLength(2);
    expect((await callerFor(editor).hypothesis.list({ limit: 2, before: first.next! })).rows.map((r) => r.id)).toEqual([id]);
    // created within one millisecond (microseconds apart): pages of one still walk all three, in order
    await getDb().execute(sql`
      update hypothesis h set created_at = timestamptz '2026-06-01 12:00:00.000100+00' + o.n * interval '1 microsecond'
        from (values (${id}::uuid, 1), (${other.id}::uuid, 2), (${synthOnly.id}::uuid, 3)) as o(id, n) where h.id = o.id`);
    const walked: string[] = [];
    let before: string | undefined;
    do {
      const page = await callerFor(editor).hypothesis.list({ limit: 1, before });
      walked.push(...page.rows.map((r) => r.id));
      before = page.next ?? undefined;
    } while (before);
    expect(walked).toEqual([synthOnly.id, other.id, id]);
    await expect(list({ before: 'garbage' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('cursor is not valid') });
    await expect(list({ feature: 'nonsense' })).rejects.toThrow('"nonsense" is not a feature address');
    await expect(list({ author: 'ada' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('the author is not a user id') });
    expect((await callerFor(null).hypothesis.forFeature({ model: 'stories260K', sae: 'l2', index: feature })).map((h) => h.id)).toEqual([id]);
  });

  it('touching an SAE the viewer may not see are absent for them', async () => {
    const hidden = await callerFor(admin).hypothesis.create({ statement: 'Secret 3 and open 3 agree', features: ['synth/secret/3', 'synth/open/3'] });
    expect((await callerFor(admin).hypothesis.list({ sae: 'synth/open' })).rows.map((r) => r.id)).toContain(hidden.id);
    for (const user of [editor, null]) {
      const rows = (await callerFor(user).hypothesis.list({ sae: 'synth/open' })).rows.map((r) => r.id);
      expect(rows).not.toContain(hidden.id);
      expect(rows).toHaveLength(1);
      await expect(callerFor(user).hypothesis.get({ id: hidden.id })).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no hypothesis ${hidden.id}` });
      expect((await callerFor(user).hypothesis.forFeature({ model: 'synth', sae: 'open', index: 3 })).map((h) => h.id)).not.toContain(hidden.id);
    }
    await expect(callerFor(editor).hypothesis.vote({ id: hidden.id, value: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('evidence', () => {
  let id: string;
  beforeAll(async () => {
    ({ id } = await callerFor(editor).hypothesis.create({ statement: 'It fires on names', features: [addr()] }));
  });

  async function savedTestRun(hypothesisId = id) {
    const { id: jobId } = await callerFor(editor).feature.activations({ model: 'stories260K', sae: 'l2', index: feature, input: { text: TEXT } });
    expect((await execute(jobId)).status).toBe('done');
    return callerFor(editor).hypothesis.saveEvidence({ hypothesisId, source: { kind: 'job', jobId }, note: 'peaks on Lily' });
  }

  it('saves a finished test-your-text run with its params, result and provenance; a re-run reproduces it', async () => {
    await watch(getDb(), admin.id, 'hypothesis', id);
    const saved = await savedTestRun();
    let h = await callerFor(viewer).hypothesis.get({ id });
    const item = h.evidence.find((e) => e.id === saved.id)!;
    expect(item).toMatchObject({ kind: 'activations', feature: { model: 'stories260K', sae: 'l2', index: feature }, note: 'peaks on Lily', addedByName: 'Ed' });
    expect(item.params).toMatchObject({ input: { text: TEXT }, features: [feature] });
    expect(item.provenance).toMatchObject({ model: expect.stringMatching(/^[0-9a-f]{64}$/), sae: expect.any(String), backend, codeVersion: expect.any(String) });
    expect((item.result as { features: Record<string, number[]> }).features[String(feature)]!.some((a) => a > 0)).toBe(true);
    expect((await getDb().select().from(notifications).where(eq(notifications.kind, 'evidence'))).map((n) => n.userId)).toEqual([admin.id]);

    // a viewer may re-run (compute), the comparison is made when the page reads the finished job
    const rerun = await callerFor(viewer).hypothesis.rerun({ evidenceId: saved.id });
    h = await callerFor(viewer).hypothesis.get({ id });
    expect(h.evidence.find((e) => e.id === saved.id)!.reruns[0]).toMatchObject({ id: rerun.id, agrees: null, jobStatus: 'queued' });
    await execute(rerun.jobId!);
    h = await callerFor(viewer).hypothesis.get({ id });
    const done = h.evidence.find((e) => e.id === saved.id)!.reruns[0]!;
    expect(done.agrees).toBe(true);
    expect(done.comparison).toMatchObject({ mismatch: null, provenanceChanges: [], rerunProvenance: { backend } });
    expect(done.comparison!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(done.comparison!.compared).toBeGreaterThan(10);
  });

  it('reports a tampered saved result as differing, with the largest difference', async () => {
    const saved = await savedTestRun();
    await getDb().execute(sql`
      update evidence set result = jsonb_set(result, ${`{features,${feature},3}`}::text[], to_jsonb((result->'features'->${String(feature)}->>3)::float8 + 0.5))
       where id = ${saved.id}`);
    const rerun = await callerFor(editor).hypothesis.rerun({ evidenceId: saved.id });
    await execute(rerun.jobId!);
    const h = await callerFor(editor).hypothesis.get({ id });
    const r = h.evidence.find((e) => e.id === saved.id)!.reruns[0]!;
    expect(r.agrees).toBe(false);
    expect(r.comparison!.maxAbsDiff).toBeCloseTo(0.5, 4);
    expect(r.comparison!.worst).toBe(`features.${feature}[3]`);
    // settled once: reading again changes nothing
    const again = (await callerFor(editor).hypothesis.get({ id })).evidence.find((e) => e.id === saved.id)!.reruns[0]!;
    expect(again).toEqual(r);
  });

  it('counts re-runs against the compute rate limit; a refused one writes nothing', async () => {
    const saved = await savedTestRun();
    const rows = async () => (await getDb().execute<{ jobs: number; reruns: number }>(sql`
      select (select count(*)::int from job) as jobs, (select count(*)::int from evidence_rerun) as reruns`)).rows[0]!;
    // the viewer has started a minute's worth of jobs already
    await getDb().execute(sql`
      insert into job (id, type, params, user_id) select gen_random_uuid(), 'activations', '{}', ${viewer.id} from generate_series(1, ${JOB_RATE_PER_MINUTE})`);
    const before = await rows();
    await expect(callerFor(viewer).hypothesis.rerun({ evidenceId: saved.id })).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await rows()).toEqual(before);
    await getDb().execute(sql`delete from job where user_id = ${viewer.id} and params = '{}'::jsonb`);
    const rerun = await callerFor(viewer).hypothesis.rerun({ evidenceId: saved.id });
    expect(await rows()).toEqual({ jobs: before.jobs - JOB_RATE_PER_MINUTE + 1, reruns: before.reruns + 1 });
    await execute(rerun.jobId!);
  });

  it('saves ablations and steering scans, and their re-runs agree', async () => {
    const at = { model: 'stories260K', sae: 'l2', index: feature, input: { text: TEXT } };
    for (const jobId of [
      (await callerFor(editor).feature.ablate(at)).id,
      (await callerFor(editor).feature.steer({ ...at, coefficients: { from: -4, to: 4, steps: 5 }, targetToken: 'Lily' })).id,
    ]) {
      expect((await execute(jobId)).status).toBe('done');
      const saved = await callerFor(editor).hypothesis.saveEvidence({ hypothesisId: id, source: { kind: 'job', jobId } });
      const rerun = await callerFor(editor).hypothesis.rerun({ evidenceId: saved.id });
      await execute(rerun.jobId!);
      const r = (await callerFor(editor).hypothesis.get({ id })).evidence.find((e) => e.id === saved.id)!.reruns[0]!;
      expect(r.agrees).toBe(true);
      expect(r.comparison!.compared).toBeGreaterThan(4);
    }
  });

  it('snapshots the feature’s dashboard; a re-run compares with the current run', async () => {
    const saved = await callerFor(editor).hypothesis.saveEvidence({
      hypothesisId: id,
      source: { kind: 'snapshot', feature: { model: 'stories260K', sae: 'l2', index: feature } },
    });
    const item = (await callerFor(editor).hypothesis.get({ id })).evidence.find((e) => e.id === saved.id)!;
    expect(item.kind).toBe('dashboard');
    expect(item.provenance).toMatchObject({ model: expect.any(String), sae: expect.any(String), run: expect.any(String), corpus: expect.any(String) });
    expect((item.result as { top: unknown[] }).top.length).toBeGreaterThan(0);
    const same = await callerFor(editor).hypothesis.rerun({ evidenceId: saved.id });
    expect(same.jobId).toBeNull();
    // the dashboards change under it
    await getDb().execute(sql`update feature set max_act = max_act * 1.01 where index = ${feature}`);
    await callerFor(editor).hypothesis.rerun({ evidenceId: saved.id });
    const reruns = (await callerFor(editor).hypothesis.get({ id })).evidence.find((e) => e.id === saved.id)!.reruns;
    expect(reruns.map((r) => r.agrees)).toEqual([false, true]);
    expect(reruns[0]!.comparison!.worst).toBe('stats.maxAct');
    await getDb().execute(sql`update feature set max_act = max_act / 1.01 where index = ${feature}`);
    // the page shows the five newest re-runs, newest first
    for (let i = 0; i < 4; i++) await callerFor(editor).hypothesis.rerun({ evidenceId: saved.id });
    const shown = (await callerFor(editor).hypothesis.get({ id })).evidence.find((e) => e.id === saved.id)!.reruns;
    expect(shown.map((r) => r.agrees)).toEqual([true, true, true, true, false]);
    const times = shown.map((r) => r.createdAt.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('can start a new hypothesis, atomically', async () => {
    const { id: jobId } = await callerFor(editor).feature.activations({ model: 'stories260K', sae: 'l2', index: feature, input: { text: 'Tom' } });
    await execute(jobId);
    const before = [await count(hypotheses), await count(evidence)];
    await expect(
      callerFor(editor).hypothesis.saveEvidence({ newHypothesis: { statement: 'y'.repeat(501), features: [addr()] }, source: { kind: 'job', jobId } }),
    ).rejects.toThrow('the statement is longer than 500 characters');
    await expect(
      callerFor(editor).hypothesis.saveEvidence({ newHypothesis: { statement: 'Synth', features: ['synth/open/1'] }, source: { kind: 'job', jobId } }),
    ).rejects.toThrow('the evidence is a computation on another model than the hypothesis is about');
    expect([await count(hypotheses), await count(evidence)]).toEqual(before);
    const made = await callerFor(editor).hypothesis.saveEvidence({ newHypothesis: { statement: 'It ignores Tom', features: [addr()] }, source: { kind: 'job', jobId } });
    const h = await callerFor(editor).hypothesis.get({ id: made.hypothesisId });
    expect(h.statement).toBe('It ignores Tom');
    expect(h.evidence.map((e) => e.id)).toEqual([made.id]);
  });

  it('refuses unfinished jobs, other job types, viewers, and a hypothesis the user cannot see', async () => {
    const { id: queued } = await callerFor(editor).feature.activations({ model: 'stories260K', sae: 'l2', index: feature, input: { text: 'Lily' } });
    await expect(callerFor(editor).hypothesis.saveEvidence({ hypothesisId: id, source: { kind: 'job', jobId: queued } })).rejects.toThrow(
      'the job is queued: only a finished job can be evidence',
    );
    await execute(queued);
    await expect(callerFor(viewer).hypothesis.saveEvidence({ hypothesisId: id, source: { kind: 'job', jobId: queued } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { id: runJob } = await callerFor(editor).job.run({ model: 'stories260K', input: { text: 'Lily' } });
    await execute(runJob);
    await expect(callerFor(editor).hypothesis.saveEvidence({ hypothesisId: id, source: { kind: 'job', jobId: runJob } })).rejects.toThrow('a run job cannot be evidence');
    const hidden = await callerFor(admin).hypothesis.create({ statement: 'hidden', features: ['synth/secret/1'] });
    await expect(callerFor(editor).hypothesis.saveEvidence({ hypothesisId: hidden.id, source: { kind: 'job', jobId: queued } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('comparing results', () => {
  const prov = { model: 'm1', sae: 's1', backend: 'wasm', codeVersion: '0.1.0' };
  it('holds to a relative tolerance of 1e-4, exact tokens, and names provenance changes', () => {
    const saved = { tokens: [1, 2], features: { '5': [0, 1.5] } };
    expect(compareEvidence('activations', saved, { tokens: [1, 2], features: { '5': [0, 1.50001] } }, prov, prov).agrees).toBe(true);
    const off = compareEvidence('activations', saved, { tokens: [1, 2], features: { '5': [0, 1.51] } }, prov, { ...prov, backend: 'tensorflow' });
    expect(off).toMatchObject({ agrees: false, worst: 'features.5[1]', provenanceChanges: [{ key: 'backend', saved: 'wasm', rerun: 'tensorflow' }] });
    expect(off.maxAbsDiff).toBeCloseTo(0.01, 6);
    expect(compareEvidence('activations', saved, { tokens: [1, 3], features: { '5': [0, 1.5] } }, prov, prov)).toMatchObject({
      agrees: false,
      mismatch: 'tokens[1] differs: 2 saved, 3 now',
    });
    expect(compareEvidence('steer', { tokens: [1], coefficients: [0], results: [{ loss: 1, targetLogit: null }] }, { tokens: [1], coefficients: [0, 1], results: [] }, prov, prov).mismatch).toBe(
      'coefficients has 1 values saved, 2 now',
    );
  });
});

describe('the feature table', () => {
  it('filters to features with open hypotheses the viewer can see, with keyset pages', async () => {
    const table = (user: UserRow | null, extra: object = {}) =>
      callerFor(user).sae.features({ model: 'synth', sae: 'open', hypotheses: 'open', sort: 'index', dir: 'asc', ...extra });
    // open: synth/open/3 (Synthetic 3) — and the hidden one, which only the admin sees; add 7 (open) and 9 (refuted)
    await callerFor(editor).hypothesis.create({ statement: 'seven', features: ['synth/open/7'] });
    const nine = await callerFor(editor).hypothesis.create({ statement: 'nine', features: ['synth/open/9'] });
    await callerFor(editor).hypothesis.setStatus({ id: nine.id, status: 'refuted' });
    const { rows, total } = await table(editor);
    expect(rows.map((r) => r.index)).toEqual([3, 7]);
    expect(total).toBe(2);
    const first = await table(editor, { limit: 1 });
    expect(first.rows.map((r) => r.index)).toEqual([3]);
    const second = await table(editor, { limit: 1, after: `${first.next!.value}_${first.next!.index}` });
    expect(second.rows.map((r) => r.index)).toEqual([7]);
    expect(second.next).toBeNull();
    expect((await callerFor(editor).sae.features({ model: 'synth', sae: 'open', sort: 'index', dir: 'asc', limit: 200 })).rows).toHaveLength(32);
  });
});
