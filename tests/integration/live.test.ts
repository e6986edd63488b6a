/**
 * Live updates against a real PostgreSQL: the LISTEN hub (delivery on commit only, fan-out, presence across two hubs,
 * reconnecting after PostgreSQL restarts), the tRPC subscriptions through the real caller (authorised, with presence),
 * and watches → notifications → unread count, for label changes and finished recompute jobs.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hypotheses, hypothesisFeatures, jobs, resourceAccess } from '@/drizzle/schema';
import { getDb, getPool, withTransaction } from '@/server/db';
import { EVENT_CHANNEL, EventHub, eventHub, featureTopic, hypothesisTopic, publish, type DeliveredEvent } from '@/server/events';
import { markDone, markRunning } from '@/server/jobs';
import { signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { EventLog, sleep } from '../helpers/events';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;
let watcher: UserRow;
let saeId: string;

/** A subscription's yields are tracked envelopes [id, data]: the data. */
const data = <T,>(e: unknown) => (Array.isArray(e) ? e[1] : e) as T;

type Live = { type: string; id?: string; count?: number };

async function subscribeFeature(user: UserRow | null, index: number) {
  const abort = new AbortController();
  const iterable = await callerFor(user, { signal: abort.signal }).live.feature({ model: 'synth', sae: '1-res', index });
  const log = new EventLog<Live>((async function* () {
    for await (const e of iterable as AsyncIterable<unknown>) yield data<Live>(e);
  })());
  return { log, abort };
}

/** The first thing a feature subscription yields (its errors surface there, not at the call). */
async function firstEvent(user: UserRow | null, input: { model: string; sae: string; index: number; lastEventId?: string }) {
  const abort = new AbortController();
  const iterable = (await callerFor(user, { signal: abort.signal }).live.feature(input)) as AsyncIterable<unknown>;
  try {
    for await (const e of iterable) return data<Live>(e);
  } finally {
    abort.abort();
  }
}

const at = (index: number) => ({ model: 'synth', sae: '1-res', index });

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  watcher = await signUp({ name: 'Wu', email: 'wu@example.org', password: 'battery staple' });
  model = await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 20 }], topExamples: 2 });
  saeId = model.saes[0]!.id;
  await eventHub().ready();
});

afterAll(async () => {
  await eventHub().close();
  await getPool().end();
  await database?.stop();
});

describe('the event hub', () => {
  it('delivers an event published in a transaction only when it commits, and never one rolled back', async () => {
    const topic = featureTopic(saeId, 1);
    const abort = new AbortController();
    const log = new EventLog(eventHub().events(topic, abort.signal));
    let releaseCommit!: () => void;
    const committing = withTransaction(async (tx) => {
      await publish(tx, { topic, type: 'comment', id: 'committed' });
      await new Promise<void>((resolve) => (releaseCommit = resolve));
    });
    await sleep(300);
    expect(log.seen, 'nothing before the commit').toEqual([]);
    releaseCommit();
    await committing;
    expect(await log.next((e) => e.id === 'committed')).toMatchObject({ topic, type: 'comment' });

    await expect(
      withTransaction(async (tx) => {
        await publish(tx, { topic, type: 'comment', id: 'rolled-back' });
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    await publish(getDb(), { topic, type: 'comment', id: 'after' });
    await log.next((e) => e.id === 'after');
    expect(log.seen.map((e) => e.id)).toEqual(['committed', 'after']);
    abort.abort();
    await log.done;
  });

  it('counts viewers across processes (two hubs, each with its own connection)', async () => {
    const topic = featureTopic(saeId, 2);
    const other = new EventHub();
    await other.ready();
    const abort = new AbortController();
    const here = new EventLog(eventHub().events(topic, abort.signal));
    const leaveHere = eventHub().join(topic, 'user-a');
    const leaveTwice = eventHub().join(topic, 'user-a'); // a second tab: the same person
    const leaveThere = other.join(topic, 'user-b');
    await here.next((e) => e.type === 'presence' && e.count === 2);
    expect(other.viewing(topic)).toBe(2);
    leaveThere();
    await here.next((e) => e.type === 'presence' && e.count === 1, 10_000, here.seen.length);
    // An announcement older than the last one heard from that process (they can arrive out of order) is ignored;
    // the marker after it, on the same connection, arrives after it.
    const stale = { topic, type: 'presence', id: other.processId, count: 1, seq: 0 };
    await getPool().query('select pg_notify($1, $2), pg_notify($1, $3)', [
      EVENT_CHANNEL,
      JSON.stringify(stale),
      JSON.stringify({ topic, type: 'comment', id: 'marker' }),
    ]);
    await here.next((e) => e.id === 'marker');
    expect(eventHub().viewing(topic)).toBe(1);
    leaveTwice();
    expect(eventHub().viewing(topic)).toBe(1);
    leaveHere();
    expect(eventHub().viewing(topic)).toBe(0);
    abort.abort();
    await other.close();
  });
});

describe('subscriptions through tRPC', () => {
  it('a feature subscription sees presence and label changes, and is authorised', async () => {
    const a = await subscribeFeature(watcher, 3);
    expect(await a.log.next((e) => e.type === 'presence')).toEqual({ type: 'presence', count: 1 });
    const b = await subscribeFeature(null, 3);
    await a.log.next((e) => e.type === 'presence' && e.count === 2);
    await callerFor(editor).feature.edit({ ...at(3), label: 'cats on mats', body: '', baseRevision: 0 });
    await a.log.next((e) => e.type === 'label' && e.id === '1');
    await b.log.next((e) => e.type === 'label' && e.id === '1');
    b.abort.abort();
    await a.log.next((e) => e.type === 'presence' && e.count === 1, 10_000, a.log.seen.findIndex((e) => e.count === 2) + 1);
    a.abort.abort();

    // a client that reconnects names the last event it saw, and is told to re-read first (missed events are not kept)
    expect(await firstEvent(watcher, { ...at(3), lastEventId: 'abc-12' })).toEqual({ type: 'resync' });

    await expect(firstEvent(watcher, at(99))).rejects.toThrow('feature synth/1-res/99 is out of range: this SAE has features 0..19');
    await expect(firstEvent(watcher, { ...at(1), sae: 'nope' })).rejects.toThrow('no feature synth/nope/1');
    // a private SAE is invisible to everyone but its owner
    await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: saeId, visibility: 'private', ownerId: admin.id });
    try {
      await expect(firstEvent(watcher, at(1))).rejects.toThrow('no feature synth/1-res/1');
      await expect(firstEvent(null, at(1))).rejects.toThrow('no feature synth/1-res/1');
      const own = await subscribeFeature(admin, 1);
      await own.log.next((e) => e.type === 'presence');
      own.abort.abort();
    } finally {
      await getDb().delete(resourceAccess).where(sql`resource_id = ${saeId}`);
    }
  });
});

describe('hypothesis subscriptions', () => {
  it('relay the hypothesis topic, for hypotheses that exist', async () => {
    const [h] = await getDb().insert(hypotheses).values({ modelId: model.id, statement: 'feature 3 fires on cats', authorId: editor.id }).returning();
    await getDb().insert(hypothesisFeatures).values({ hypothesisId: h!.id, saeId, index: 3 });
    const abort = new AbortController();
    const stream = (await callerFor(null, { signal: abort.signal }).live.hypothesis({ id: h!.id })) as AsyncIterable<unknown>;
    const log = new EventLog<Live>((async function* () {
      for await (const e of stream) yield data<Live>(e);
    })());
    await sleep(500); // subscribed (it yields nothing until an event)
    await publish(getDb(), { topic: hypothesisTopic(h!.id), type: 'evidence', id: 'e1' });
    expect(await log.next((e) => e.type === 'evidence')).toEqual({ type: 'evidence', id: 'e1' });
    abort.abort();
    const id = crypto.randomUUID();
    const missing = (await callerFor(null).live.hypothesis({ id })) as AsyncIterable<unknown>;
    await expect((async () => { for await (const _ of missing) return; })()).rejects.toThrow(`no hypothesis ${id}`);
  });
});

describe('watches and notifications', () => {
  it('the watchers of a feature are notified when its label changes, live, with an unread count', async () => {
    const me = callerFor(watcher);
    await expect(callerFor(null).notification.watch({ kind: 'feature', targetId: `${saeId}/4`, watching: true })).rejects.toThrow('sign in first');
    await expect(me.notification.watch({ kind: 'feature', targetId: 'nonsense', watching: true })).rejects.toThrow('no feature "nonsense"');
    expect(await me.notification.watching({ kind: 'feature', targetId: `${saeId}/4` })).toBe(false);
    expect(await me.notification.watch({ kind: 'feature', targetId: `${saeId}/4`, watching: true })).toBe(true);
    expect(await me.notification.watching({ kind: 'feature', targetId: `${saeId}/4` })).toBe(true);
    expect(await callerFor(null).notification.watching({ kind: 'feature', targetId: `${saeId}/4` })).toBeNull();

    const abort = new AbortController();
    const inbox = new EventLog<Live>((async function* () {
      for await (const e of (await callerFor(watcher, { signal: abort.signal }).live.notifications()) as AsyncIterable<unknown>) yield data<Live>(e);
    })());
    await sleep(500); // the subscription is listening (it yields nothing until an event)
    expect(await me.notification.unreadCount()).toBe(0);

    await callerFor(editor).feature.edit({ ...at(4), label: 'sun and rain', body: 'first', baseRevision: 0 });
    const event = await inbox.next((e) => e.type === 'notification');
    // a description-only edit is no label change; the editor's own edits never notify the editor
    await callerFor(editor).feature.edit({ ...at(4), label: 'sun and rain', body: 'second', baseRevision: 1 });
    expect(await me.notification.unreadCount()).toBe(1);
    const [n] = await me.notification.list();
    expect(n).toMatchObject({ id: event.id, kind: 'label', summary: 'synth/1-res/4 is now labelled “sun and rain”', url: '/synth/1-res/4', actor: 'Bo', readAt: null });
    expect(await callerFor(editor).notification.unreadCount()).toBe(0);

    await me.notification.markRead({ ids: [n!.id] });
    expect(await me.notification.unreadCount()).toBe(0);
    await callerFor(admin).feature.edit({ ...at(4), label: '', body: 'second', baseRevision: 2 });
    expect(await me.notification.unreadCount()).toBe(1);
    expect((await me.notification.list())[0]!.summary).toBe('The label of synth/1-res/4 was removed');
    await me.notification.markAllRead();
    expect(await me.notification.unreadCount()).toBe(0);

    await me.notification.watch({ kind: 'feature', targetId: `${saeId}/4`, watching: false });
    await callerFor(editor).feature.edit({ ...at(4), label: 'unwatched now', body: '', baseRevision: 3 });
    expect(await me.notification.unreadCount()).toBe(0);
    abort.abort();
  });

  it('a recompute job on a watched feature publishes job events and notifies its watchers when it finishes', async () => {
    await callerFor(watcher).notification.watch({ kind: 'feature', targetId: `${saeId}/5`, watching: true });
    const page = await subscribeFeature(watcher, 5);
    await page.log.next((e) => e.type === 'presence');
    const id = crypto.randomUUID();
    await getDb().insert(jobs).values({ id, type: 'logit-weights', params: { saeId, features: [5], k: 10 }, userId: editor.id, modelId: model.id });
    expect(await markRunning(getDb(), id, 'worker-1')).toBeDefined();
    await page.log.next((e) => e.type === 'job' && e.id === id);
    const before = page.log.seen.length;
    await markDone(getDb(), id, { updated: [5] }, {});
    await page.log.next((e) => e.type === 'job' && e.id === id, 10_000, before);
    const [n] = await callerFor(watcher).notification.list({ unreadOnly: true });
    expect(n).toMatchObject({ kind: 'job', summary: 'The logit weights recompute of synth/1-res/5 finished', url: '/synth/1-res/5', actor: 'Bo' });
    page.abort.abort();

    // a whole-SAE dashboards run is news for the SAE's watchers, not for each feature's
    await callerFor(watcher).notification.watch({ kind: 'sae', targetId: saeId, watching: true });
    const whole = crypto.randomUUID();
    await getDb().insert(jobs).values({ id: whole, type: 'dashboards', params: { saeId, corpusId: crypto.randomUUID() }, userId: editor.id, modelId: model.id });
    await markRunning(getDb(), whole, 'worker-1');
    const unread = await callerFor(watcher).notification.unreadCount();
    await markDone(getDb(), whole, {}, {});
    expect(await callerFor(watcher).notification.unreadCount()).toBe(unread + 1);
    expect((await callerFor(watcher).notification.list())[0]).toMatchObject({ kind: 'job', summary: 'The dashboards of synth/1-res finished', url: '/synth/1-res' });
  });

  it('watching needs a target that exists and the comment action on it', async () => {
    const me = callerFor(watcher);
    await expect(me.notification.watch({ kind: 'feature', targetId: `${saeId}/20`, watching: true })).rejects.toThrow(`no feature "${saeId}/20"`);
    await expect(me.notification.watch({ kind: 'sae', targetId: crypto.randomUUID(), watching: true })).rejects.toThrow('no sae');
    await expect(me.notification.watch({ kind: 'hypothesis', targetId: crypto.randomUUID(), watching: true })).rejects.toThrow('no hypothesis');
    await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: saeId, visibility: 'private', ownerId: admin.id });
    try {
      await expect(me.notification.watch({ kind: 'feature', targetId: `${saeId}/1`, watching: true })).rejects.toThrow('no feature');
      expect(await callerFor(admin).notification.watch({ kind: 'feature', targetId: `${saeId}/1`, watching: true })).toBe(true);
    } finally {
      await getDb().delete(resourceAccess).where(sql`resource_id = ${saeId}`);
    }
  });
});

describe('PostgreSQL restarts', () => {
  it('the LISTEN connection reconnects by itself, subscribers are told to resync, and events flow again', async () => {
    const topic = featureTopic(saeId, 6);
    const abort = new AbortController();
    const log = new EventLog<DeliveredEvent>(eventHub().events(topic, abort.signal));
    const connections = eventHub().connections;
    await database.restart({ downMs: 500 });
    await log.next((e) => e.type === 'resync', 20_000);
    expect(eventHub().connections).toBe(connections + 1);
    expect(eventHub().connected).toBe(true);
    // the pool's connections died with the server; new ones are made on demand
    await publish(getDb(), { topic, type: 'comment', id: 'after-restart' });
    await log.next((e) => e.id === 'after-restart');
    abort.abort();
  });
});
