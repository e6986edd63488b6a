/**
 * Automatic explanations below the browser: the admin's endpoint setting (admin-only, its key never sent back), and
 * explain jobs run in this process through executeJob with the real stories260K model and the fixture SAE's
 * dashboards, against the fake OpenAI-compatible server of tests/helpers/chat-server.ts. Each detection score is
 * checked against one recomputed here from what the server was asked and answered, the truth read from the feature's
 * stored examples (a held-out excerpt is text of one of its example contexts; a non-firing one is not).
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { features, jobs, labelProposals, type ProposalProvenance } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { cancelJob } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import { signUp, setRole, type UserRow } from '@/server/users';
import { ChatClient } from '@/server/explainer/client';
import { examplesOf } from '@/server/explainer/explain';
import { explainerEndpoint } from '@/server/explainer/settings';
import { detectionScore, renderExcerpt } from '@/server/explainer/prompts';
import { initBackend } from '@/compute/backend';
import { executeJob } from '@/worker/jobs';
import { getModel } from '@/worker/model-cache';
import { parseResult } from '@/jobs';
import { callerFor } from '../helpers/caller';
import { fakeLabel, startChatServer, type FakeChatServer } from '../helpers/chat-server';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards } from '../helpers/stories';

let database: TestDatabase;
let chat: FakeChatServer;
let admin: UserRow;
let editor: UserRow;
let viewer: UserRow;
let backend: string;
let seeded: Awaited<ReturnType<typeof seedStoriesDashboards>>;
let live: number[];
const KEY = 'sk-test-secret-key';
const address = { model: 'stories260K', sae: 'l2' };

/** Runs a job in this process as a worker would, and returns its record. */
async function execute(id: string) {
  await executeJob(getDb(), { id: 'test-worker', backend }, id);
  return (await getDb().query.jobs.findFirst({ where: eq(jobs.id, id) }))!;
}

async function autoProposals(model: string) {
  return getDb()
    .select({ index: labelProposals.index, label: labelProposals.label, provenance: labelProposals.provenance })
    .from(labelProposals)
    .where(and(eq(labelProposals.saeId, seeded.saeRow.id), sql`${labelProposals.provenance}->>'model' = ${model}`))
    .orderBy(labelProposals.index);
}

/**
 * Uses the fake server with this model name (a new name: no feature is explained by it yet), the earlier automatic
 * proposals removed (the fake's labels depend on the examples only, so another model's would be the same text).
 */
async function useModel(model: string, requestsPerMinute = 10_000) {
  await getDb().delete(labelProposals).where(sql`${labelProposals.provenance}->>'source' = 'auto'`);
  await callerFor(admin).admin.setExplainer({ baseUrl: chat.url, model, apiKey: KEY, requestsPerMinute });
}

/** Whether an excerpt is text of one of the feature's example contexts (BOS left out, nothing marked). */
async function truthOf(index: number): Promise<(excerpt: string) => boolean> {
  const model = await getModel(seeded.modelRow.path, seeded.modelRow.contentHash);
  const { top, interval } = await examplesOf(getDb(), { id: seeded.saeRow.currentRunId!, corpusId: seeded.corpus.id }, index);
  const texts = [...top, ...interval].map((e) => {
    const ids = e.tokens.filter((id) => id !== model.tokenizer.bosId);
    return renderExcerpt({ pieces: ids.map((id) => model.tokenizer.piece(id)), acts: ids.map(() => 0) }, false);
  });
  return (excerpt) => texts.some((t) => t.includes(excerpt));
}

beforeAll(async () => {
  database = await startTestDatabase();
  backend = await initBackend();
  chat = await startChatServer();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' }); // the first account, admin
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
  viewer = await signUp({ name: 'Vic', email: 'vic@example.org', password: 'correct horse' });
  await setRole(getDb(), viewer.id, 'viewer', admin.id); // sign-ups are editors
  viewer = { ...viewer, role: 'viewer' };
  seeded = await seedStoriesDashboards(getDb());
  seeded.saeRow = (await getDb().query.saes.findFirst({ where: (s, { eq }) => eq(s.id, seeded.saeRow.id) }))!;
  const rows = await getDb()
    .select({ index: features.index })
    .from(features)
    .where(and(eq(features.runId, seeded.saeRow.currentRunId!), sql`${features.nonzeroCount} > 0`))
    .orderBy(features.index);
  live = rows.map((r) => r.index);
}, 300_000);

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
  await chat?.close();
});

describe('the explainer setting', () => {
  it('is refused to anyone but admins, and without one the panels say what to set', async () => {
    await expect(callerFor(null).admin.explainer()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(callerFor(editor).admin.explainer()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerFor(editor).admin.setExplainer({ baseUrl: chat.url, model: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await callerFor(admin).admin.explainer()).toMatchObject({ configured: false, keySet: false });

    const panel = await callerFor(null).sae.explainer(address);
    expect(panel.endpoint).toMatchObject({ configured: false, model: null });
    expect(panel.endpoint.notConfigured).toMatch(/\/admin\/explainer.*LEXICON_EXPLAINER_URL, LEXICON_EXPLAINER_MODEL and LEXICON_EXPLAINER_KEY/);
    await expect(callerFor(admin).sae.explain(address)).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', message: expect.stringContaining('LEXICON_EXPLAINER_URL') });
  });

  it('keeps the key on the server: admins see whether it is set; readers see the model only', async () => {
    const set = await callerFor(admin).admin.setExplainer({ baseUrl: chat.url, model: 'fake-explainer', apiKey: KEY, requestsPerMinute: 10_000 });
    expect(set).toMatchObject({ configured: true, source: 'settings', baseUrl: chat.url, model: 'fake-explainer', keySet: true });
    // saved again without a key: the stored one stays
    const again = await callerFor(admin).admin.setExplainer({ baseUrl: chat.url, model: 'fake-explainer', requestsPerMinute: 10_000 });
    expect(again.keySet).toBe(true);
    for (const answer of [set, again, await callerFor(admin).admin.explainer(), await callerFor(admin).sae.explainer(address)]) {
      expect(JSON.stringify(answer)).not.toContain(KEY);
    }
    const panel = await callerFor(null).sae.explainer(address);
    expect(panel.endpoint).toMatchObject({ configured: true, model: 'fake-explainer' });
    expect(JSON.stringify(panel)).not.toContain(chat.url);
    await expect(callerFor(admin).admin.setExplainer({ baseUrl: 'ftp://example.org', model: 'm' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('falls back to LEXICON_EXPLAINER_URL, _MODEL and _KEY when no admin set one', async () => {
    const before = await callerFor(admin).admin.explainer();
    Object.assign(process.env, { LEXICON_EXPLAINER_URL: 'http://127.0.0.1:9/v1', LEXICON_EXPLAINER_MODEL: 'env-model', LEXICON_EXPLAINER_KEY: 'env-key' });
    try {
      expect(await callerFor(admin).admin.explainer()).toEqual(before); // the admin's setting wins
      const cleared = await callerFor(admin).admin.clearExplainer();
      expect(cleared).toMatchObject({ configured: true, source: 'environment', model: 'env-model', keySet: true });
    } finally {
      delete process.env.LEXICON_EXPLAINER_URL;
      delete process.env.LEXICON_EXPLAINER_MODEL;
      delete process.env.LEXICON_EXPLAINER_KEY;
    }
    expect(await callerFor(admin).admin.explainer()).toMatchObject({ configured: false });
  });
});

describe('an explain job over the whole SAE', () => {
  it('stores one scored proposal per live feature, each detection score as recomputed from the requests', async () => {
    await useModel('fake-explainer');
    await expect(callerFor(editor).sae.explain(address)).rejects.toMatchObject({ code: 'FORBIDDEN' }); // maintainers only
    chat.requests.length = 0;
    const { id } = await callerFor(admin).sae.explain(address);
    const job = await execute(id);
    expect(job.error).toBeNull();
    const result = parseResult('explain', job.result);
    expect(result).toMatchObject({ model: 'fake-explainer', features: live.length, explained: live.length, alreadyProposed: 0, skipped: 0, failed: 0, errors: [] });
    expect(result.dead).toBe(256 - live.length);
    expect(live.length).toBeGreaterThan(10);

    const proposals = await autoProposals('fake-explainer');
    expect(proposals.map((p) => p.index)).toEqual(live);
    expect(chat.requests).toHaveLength(2 * live.length);
    expect(chat.requests.every((r) => r.authorization === `Bearer ${KEY}` && r.model === 'fake-explainer')).toBe(true);
    const accuracies: number[] = [];
    for (const [k, p] of proposals.entries()) {
      const [explanation, detection] = [chat.requests[2 * k]!, chat.requests[2 * k + 1]!];
      expect([explanation.kind, detection.kind]).toEqual(['explanation', 'detection']);
      const prov = p.provenance as ProposalProvenance;
      expect(prov).toMatchObject({ by: 'auto (fake-explainer)', source: 'auto', model: 'fake-explainer', from: id, answer: explanation.answer });
      expect(p.label).toBe(fakeLabel(explanation.messages[1]!.content));
      expect(prov.prompt).toContain(explanation.messages[1]!.content);
      expect(prov.prompt).toMatch(/<<.+?>>/);

      const truth = await truthOf(p.index);
      const excerpts = [...detection.messages[1]!.content.matchAll(/^Excerpt \d+: (.*)$/gm)].map((m) => m[1]!);
      const expected = detectionScore(excerpts.map(truth), JSON.parse(detection.answer).map((v: number) => v === 1));
      const stored = (prov.scores as { detection: ReturnType<typeof detectionScore> }).detection;
      expect(stored.balancedAccuracy).toBeCloseTo(expected.balancedAccuracy, 10);
      expect(stored).toMatchObject({ n: excerpts.length, positives: expected.positives, negatives: expected.negatives });
      expect(stored.positives).toBeGreaterThan(0);
      accuracies.push(stored.balancedAccuracy);
    }
    // the labels are the marked token, so they detect better than chance on the whole
    expect(accuracies.reduce((a, b) => a + b, 0) / accuracies.length).toBeGreaterThan(0.5);
    expect(result.meanBalancedAccuracy).toBeCloseTo(accuracies.reduce((a, b) => a + b, 0) / accuracies.length, 10);

    // the panel shows the finished job to the maintainer who ran it
    const panel = await callerFor(admin).sae.explainer(address);
    expect(panel.job).toMatchObject({ id, status: 'done' });

    // a re-run skips every feature this model explained, asking nothing
    chat.requests.length = 0;
    const rerun = parseResult('explain', (await execute((await callerFor(admin).sae.explain(address)).id)).result);
    expect(rerun).toMatchObject({ explained: 0, skipped: live.length, failed: 0 });
    expect(chat.requests).toHaveLength(0);

    // another model giving a label already proposed: counted, the proposal kept as it was
    await callerFor(admin).admin.setExplainer({ baseUrl: chat.url, model: 'fake-echo', requestsPerMinute: 10_000 });
    const echo = parseResult('explain', (await execute((await callerFor(admin).sae.explain({ ...address, features: [live[0]!] })).id)).result);
    expect(echo).toMatchObject({ explained: 0, alreadyProposed: 1, failed: 0 });
    expect((await autoProposals('fake-explainer')).find((p) => p.index === live[0])).toEqual(proposals[0]);
  }, 300_000);
});

describe('an explain job and the endpoint', () => {
  it('waits out a 429 as Retry-After says and keeps to the requests per minute', async () => {
    await useModel('fake-limited', 600); // one request every 100 ms
    chat.requests.length = 0;
    chat.faults.push('429');
    const picked = live.slice(0, 3);
    const { id } = await callerFor(admin).sae.explain({ ...address, features: picked });
    const result = parseResult('explain', (await execute(id)).result);
    expect(result).toMatchObject({ explained: 3, failed: 0 });
    expect((await autoProposals('fake-limited')).map((p) => p.index)).toEqual(picked);
    const [limited, retried] = chat.requests;
    expect(limited!.answer).toBe('429');
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1000); // Retry-After: 1
    expect(chat.requests).toHaveLength(7);
    // sent on a 100 ms schedule (its slots are fixed times: the retry's lag on a loaded machine is caught up)
    expect(chat.requests[6]!.at - retried!.at).toBeGreaterThanOrEqual(5 * 100 - 50);
  }, 60_000);

  it('keeps one pace for every client of the endpoint: two at once are spaced as one, and a 429 holds both off', async () => {
    await useModel('fake-shared', 120); // one request every 500 ms, for all clients together
    const endpoint = (await explainerEndpoint(getDb()))!;
    // two clients as two jobs on two workers would have (told apart by their keys; the pace is per URL and model)
    const clients = ['sk-a', 'sk-b'].map((apiKey) => new ChatClient(getDb(), { ...endpoint, apiKey }));
    const ask = (client: ChatClient) => client.complete([{ role: 'user', content: 'Example 0: <<cat>>' }]);
    chat.requests.length = 0;
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < 3; i++) await ask(client);
      }),
    );
    const arrivals = chat.requests.map((r) => ({ at: r.at, by: r.authorization })).sort((a, b) => a.at - b.at);
    expect(arrivals).toHaveLength(6);
    // both were sending at once, yet the requests keep to one 500 ms schedule. Its slots are fixed times (a request sent
    // late does not move the next), so it is counted from the first arrival, which may be late by a loaded machine's lag.
    expect(new Set(arrivals.slice(0, 2).map((a) => a.by))).toEqual(new Set(['Bearer sk-a', 'Bearer sk-b']));
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]!.at - arrivals[0]!.at).toBeGreaterThanOrEqual(i * 500 - 50);

    // a 429 to one client (Retry-After: 1) keeps the other off the endpoint too
    await useModel('fake-shared-429', 10_000);
    const fast = (await explainerEndpoint(getDb()))!;
    chat.requests.length = 0;
    chat.faults.push('429');
    let other: Promise<string> | undefined;
    const limited = new ChatClient(getDb(), { ...fast, apiKey: 'sk-a' }, {
      onRateLimited: async () => void (other = ask(new ChatClient(getDb(), { ...fast, apiKey: 'sk-b' }))),
    });
    await ask(limited);
    await other;
    const [refused, ...after] = chat.requests;
    expect(refused!.answer).toBe('429');
    expect(after.map((r) => r.authorization).sort()).toEqual(['Bearer sk-a', 'Bearer sk-b']);
    for (const r of after) expect(r.at - refused!.at).toBeGreaterThanOrEqual(1000 - 30);
  }, 60_000);

  it('stops a request waiting for its turn as soon as it is cancelled', async () => {
    await useModel('fake-paced', 1); // the next turn a minute away
    const endpoint = (await explainerEndpoint(getDb()))!;
    chat.requests.length = 0;
    await new ChatClient(getDb(), endpoint).complete([{ role: 'user', content: 'Example 0: <<cat>>' }]);
    const cancel = new AbortController();
    const started = Date.now();
    const waiting = new ChatClient(getDb(), endpoint, { signal: cancel.signal }).complete([{ role: 'user', content: 'Example 0: <<dog>>' }]);
    setTimeout(() => cancel.abort(new Error('cancelled')), 200);
    await expect(waiting).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(chat.requests).toHaveLength(1);
  });

  it('reports malformed answers per feature and goes on; fails only when every feature failed', async () => {
    await useModel('fake-garbage');
    chat.faults.push('not-json', 'empty');
    const picked = live.slice(0, 3);
    const job = await execute((await callerFor(admin).sae.explain({ ...address, features: { from: picked[0]!, to: picked[2]! } })).id);
    expect(job.status).toBe('done');
    const result = parseResult('explain', job.result);
    expect(result).toMatchObject({ explained: 1, failed: 2 });
    expect(result.errors).toEqual([
      { feature: picked[0], error: expect.stringContaining('is not a chat completion') },
      { feature: picked[1], error: 'the endpoint answered no label' },
    ]);
    expect((await autoProposals('fake-garbage')).map((p) => p.index)).toEqual([picked[2]]);

    await useModel('fake-broken');
    chat.faults.push('500');
    const failed = await execute((await callerFor(admin).sae.explain({ ...address, features: [picked[0]!] })).id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe(`every feature failed (1); feature ${picked[0]}: the endpoint answered HTTP 500: the model crashed`);
  }, 60_000);

  it('stops when cancelled, keeping the features it finished; a re-run explains the rest', async () => {
    await useModel('fake-cancelled');
    const { id } = await callerFor(admin).sae.explain(address);
    const byLabel = chat.detect;
    let detections = 0;
    chat.detect = (label, excerpt) => {
      if (detections++ === 0) void cancelJob(getDb(), id); // while the first feature is scored
      return byLabel(label, excerpt);
    };
    try {
      expect((await execute(id)).status).toBe('cancelled');
    } finally {
      chat.detect = byLabel;
    }
    const kept = (await autoProposals('fake-cancelled')).map((p) => p.index);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(live.length);
    expect(kept).toEqual(live.slice(0, kept.length));
    const rerun = parseResult('explain', (await execute((await callerFor(admin).sae.explain(address)).id)).result);
    expect(rerun).toMatchObject({ skipped: kept.length, explained: live.length - kept.length, failed: 0 });
  }, 120_000);

  it('refuses features past the end of the SAE', async () => {
    const job = await execute((await callerFor(admin).sae.explain({ ...address, features: { from: 250, to: 1_000_000 } })).id);
    expect(job).toMatchObject({ status: 'failed', error: 'feature 1000000 is not in SAE l2 (it has features 0 to 255)' });
  });

  it('explains one feature for an editor from its page; a detector that says yes to everything scores 0.5', async () => {
    await useModel('fake-yes');
    const byLabel = chat.detect;
    chat.detect = () => true;
    try {
      const feature = { ...address, index: live[0]! };
      await expect(callerFor(viewer).feature.explain(feature)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const result = parseResult('explain', (await execute((await callerFor(editor).feature.explain(feature)).id)).result);
      expect(result).toMatchObject({ features: 1, explained: 1 });
      const [proposal] = await autoProposals('fake-yes');
      const detection = (proposal!.provenance!.scores as { detection: ReturnType<typeof detectionScore> }).detection;
      // every positive right, every negative wrong, whatever their numbers
      expect(detection.positives).toBeGreaterThan(0);
      expect(detection.negatives).toBeGreaterThan(0);
      expect(detection).toEqual({ balancedAccuracy: 0.5, n: detection.positives + detection.negatives, positives: detection.positives, negatives: detection.negatives });
    } finally {
      chat.detect = byLabel;
    }
  }, 60_000);
});
