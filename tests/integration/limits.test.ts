/**
 * Limits against a real PostgreSQL: presence is coalesced (a crowd joining costs a few announcements, not one per
 * viewer per subscriber), the health check answers while the request pool is exhausted, an internal error reaches
 * the client as a generic message with an id (no SQL), forged page cursors are BAD_REQUEST, and search snippets come
 * from a bounded prefix of a description.
 */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appRouter } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import { getDb, getPool, webStatementTimeout } from '@/server/db';
import { EventHub, featureTopic, type DeliveredEvent } from '@/server/events';
import { HealthProbe } from '@/server/health';
import { signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { sleep } from '../helpers/events';
import { labelFeatures, seedSyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let admin: UserRow;
let saeId: string;

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  const model = await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 20 }], topExamples: 2 });
  saeId = model.saes[0]!.id;
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

describe('presence', () => {
  it('a crowd of 300 anonymous viewers costs a few announcements and a few events per subscriber', async () => {
    const hub = new EventHub();
    await hub.ready();
    const topic = featureTopic(saeId, 4);
    const abort = new AbortController();
    const seen: DeliveredEvent[] = [];
    const reading = (async () => {
      for await (const e of hub.events(topic, abort.signal)) seen.push(e);
    })();
    const before = hub.announcementCount;
    const leave = Array.from({ length: 300 }, () => hub.join(topic));
    expect(hub.viewing(topic)).toBe(300);
    await sleep(1_000);
    const presence = seen.filter((e) => e.type === 'presence');
    expect(presence.at(-1)?.count).toBe(300);
    expect(presence.length, 'events for one subscriber').toBeLessThanOrEqual(3);
    expect(hub.announcementCount - before, 'announcements published').toBeLessThanOrEqual(3);

    for (const l of leave.slice(0, 299)) l();
    await sleep(1_000);
    expect(seen.filter((e) => e.type === 'presence').at(-1)?.count).toBe(1);
    expect(hub.announcementCount - before).toBeLessThanOrEqual(6);
    leave[299]!();
    expect(hub.viewing(topic)).toBe(0);
    abort.abort();
    await reading;
    await hub.close();
  });
});

describe('the health check', () => {
  it('answers at once while every pooled connection is busy, and says so when PostgreSQL is gone', async () => {
    const probe = new HealthProbe(() => database.url);
    const held: pg.PoolClient[] = await Promise.all(Array.from({ length: 10 }, () => getPool().connect()));
    try {
      const started = Date.now();
      const [a, b] = await Promise.all([probe.check(), probe.check()]);
      expect(a).toMatchObject({ ok: true, db: true });
      expect(b).toEqual(a);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const c of held) c.release();
    }
    await probe.close();
    const nowhere = new HealthProbe(() => database.url.replace(/:(\d+)\//, ':1/'));
    expect(await nowhere.check()).toEqual({ ok: false, db: false, worker: null });
  });
});

describe('the web process', () => {
  it('runs its statements with a time limit; workers and the CLI have none', () => {
    vi.stubEnv('NEXT_RUNTIME', '');
    expect(webStatementTimeout()).toEqual({});
    vi.stubEnv('NEXT_RUNTIME', 'nodejs');
    expect(webStatementTimeout()).toEqual({ statement_timeout: 15_000 });
    vi.stubEnv('LEXICON_STATEMENT_TIMEOUT_MS', '2500');
    expect(webStatementTimeout()).toEqual({ statement_timeout: 2_500 });
    vi.unstubAllEnvs();
  });
});

/** `path` called over HTTP as an anonymous visitor, through tRPC's fetch handler and this app's error formatter. */
async function anonymous(path: string, input: unknown) {
  const url = `http://lexicon.test/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const req = new Request(url);
  const res = await fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => ({ db: getDb(), session: null, viewer: null, headers: req.headers }) as Context,
  });
  return { status: res.status, text: await res.text() };
}

describe('errors', () => {
  it('an internal error is a generic message with an id; the SQL and its parameters are only logged', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await getPool().query('alter table hypothesis rename to hypothesis_away');
    try {
      const { status, text } = await anonymous('hypothesis.list', { feature: 'secret-parameter/x/1' });
      expect(status).toBe(500);
      const message = JSON.parse(text).error.json.message as string;
      expect(message).toMatch(/^internal error \(([0-9a-f]{8})\)/);
      for (const leak of ['select', 'hypothesis_away', 'secret-parameter', 'relation', 'does not exist', 'stack']) expect(text.toLowerCase()).not.toContain(leak);
      const id = /\(([0-9a-f]{8})\)/.exec(message)![1]!;
      const line = logged.mock.calls.map((args) => args.map(String).join(' ')).find((l) => l.includes(id));
      expect(line, 'the log has the id and the procedure').toContain('hypothesis.list');
    } finally {
      await getPool().query('alter table hypothesis_away rename to hypothesis');
      logged.mockRestore();
    }
  });

  it('an author filter that is not a user id is BAD_REQUEST, never a failed query', async () => {
    const { status, text } = await anonymous('hypothesis.list', { author: 'ada' });
    expect(status, text).toBe(400);
    expect(JSON.parse(text).error.json).toMatchObject({ message: 'the author is not a user id', data: { code: 'BAD_REQUEST' } });
  });

  it('forged page cursors are BAD_REQUEST, never a failed query', async () => {
    const forged = Buffer.from('2026-13-45 99:00:00+00|00000000-0000-0000-0000-000000000000').toString('base64url');
    for (const [path, input] of [
      ['hypothesis.list', { before: forged }],
      ['wiki.changes', { after: forged }],
      ['sae.features', { model: 'synth', sae: '1-res', after: '1e999_3' }],
    ] as const) {
      const { status, text } = await anonymous(path, input);
      expect(status, `${path}: ${text}`).toBe(400);
      expect(JSON.parse(text).error.json.data.code).toBe('BAD_REQUEST');
    }
  });
});

describe('search', () => {
  it('takes snippets from the opening of a huge description, and still finds it', async () => {
    const body = `The opening words mention zebras. ${'filler words here. '.repeat(3_000)}A late mention of quokkas.`;
    await labelFeatures(getDb(), saeId, [{ index: 7, label: 'striped things', body }], admin.id);
    const [hit] = await callerFor(null).search.text({ q: 'zebras' });
    expect(hit).toMatchObject({ index: 7 });
    expect(hit!.snippet).toContain('⟦zebras⟧');
    const [late] = await callerFor(null).search.text({ q: 'quokkas' });
    expect(late, 'matched by the whole text').toMatchObject({ index: 7 });
    expect(late!.snippet.length).toBeLessThan(1_000);
  });
});
