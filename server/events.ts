/**
 * Live events: a write publishes a small event on a topic with PostgreSQL NOTIFY, so every web process (and the
 * worker, for job completions) reaches every subscriber, and an event published inside a transaction is delivered
 * only if it commits. Subscribers (tRPC subscriptions over SSE) read the details through the normal, authorised
 * queries: an event carries ids, never content.
 *
 * Topics: `feature:${saeId}/${index}`, `sae:${saeId}`, `hypothesis:${id}`, `user:${userId}` (notifications),
 * for workers `jobs` (a job was queued; the id is its type) and `dashboard-shards` (a run's shards were created, one
 * ended or its worker left it; the id is the run's), and
 * `access`: a role, account, team membership or visibility changed (server/audit.ts publishes it with each audit
 * entry), which every subscriber of every topic hears, so that live streams check their reader's access again.
 */
import { EventEmitter, on } from 'node:events';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { getPool, requireDatabaseUrl, type Db } from './db';

export const EVENT_CHANNEL = 'lexicon_event';
/** The LISTEN connection's application_name: pg_stat_activity tells which process holds one (ops, tests). */
export const listenerName = (pid: number) => `lexicon events ${pid}`;

export type EventType = 'comment' | 'label' | 'job' | 'hypothesis' | 'evidence' | 'notification' | 'presence' | 'access' | 'shards';

export interface LexiconEvent {
  topic: string;
  type: EventType;
  /** the id of what changed (comment, job, hypothesis, notification) */
  id?: string;
}

export const featureTopic = (saeId: string, index: number) => `feature:${saeId}/${index}`;
export const saeTopic = (saeId: string) => `sae:${saeId}`;
export const hypothesisTopic = (id: string) => `hypothesis:${id}`;
export const userTopic = (userId: string) => `user:${userId}`;
export const SHARDS_TOPIC = 'dashboard-shards';
export const JOBS_TOPIC = 'jobs';
/** Access changed somewhere: delivered on every topic (see the module comment). */
export const ACCESS_TOPIC = 'access';

/** Publishes on commit when `db` is a transaction, at once otherwise. */
export async function publish(db: Db, event: LexiconEvent): Promise<void> {
  await db.execute(sql`select pg_notify(${EVENT_CHANNEL}, ${JSON.stringify(event)})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Subscribing: one dedicated LISTEN connection per process, fanned out in-process. When PostgreSQL goes away it
// reconnects with backoff and LISTENs again; subscribers then get a `resync` event, since whatever was published
// meanwhile is lost (NOTIFY does not queue for absent listeners) and they should re-read.

/** What a subscriber receives: a published event, a presence count, or `resync` after a reconnect. */
export interface DeliveredEvent {
  topic: string;
  type: EventType | 'resync';
  id?: string;
  /** presence: people viewing the topic, across all web processes */
  count?: number;
}

const RECONNECT_MIN_MS = 100;
/** one connection per process: trying every 2 s at most costs PostgreSQL nothing, and live pages resume sooner */
const RECONNECT_MAX_MS = 2_000;
/** Each process re-announces its viewers this often; an announcement older than PRESENCE_TTL_MS is dropped. */
const PRESENCE_HEARTBEAT_MS = 10_000;
const PRESENCE_TTL_MS = 3 * PRESENCE_HEARTBEAT_MS;
/**
 * Presence changes are gathered for this long and then announced and delivered once per topic: a crowd arriving on
 * one page costs one announcement and one event per subscriber, not one per arrival per subscriber.
 */
const PRESENCE_COALESCE_MS = 250;

/** The announcement a process publishes for a topic: its number of viewers there. */
interface PresenceAnnouncement {
  topic: string;
  type: 'presence';
  /** the announcing process */
  id: string;
  count: number;
  /**
   * Increases with each announcement of the process. Announcements go through different pool connections, so
   * they can arrive out of order; an older one than the last heard from that process is stale and ignored.
   */
  seq: number;
}

interface RemotePresence {
  count: number;
  seq: number;
  /** when it was heard (Date.now()) */
  at: number;
}

/** Exported for tests that need a second process's hub; everything else uses `eventHub()`. */
export class EventHub {
  readonly processId = crypto.randomUUID();
  private readonly emitter = new EventEmitter();
  private client: pg.Client | null = null;
  private pid: number | null = null;
  private listening: Promise<void> | null = null;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private live = false;
  /** connections made so far (the first is not a reconnect) */
  connections = 0;
  /** `access` events heard so far: access decisions made before the latest one are not reused (live.ts) */
  accessChanges = 0;
  /** topic → signed-in viewer key → open subscriptions of this process, and the anonymous ones as a bare count */
  private readonly localViewers = new Map<string, { keys: Map<string, number>; anonymous: number }>();
  /** topic → process id → its latest announcement (kept at count 0 too, so a stale one cannot revive it) */
  private readonly remoteViewers = new Map<string, Map<string, RemotePresence>>();
  private announcements = 0;
  /** topics whose count changed here (to announce and deliver) or elsewhere (to deliver), until the next flush */
  private readonly toAnnounce = new Set<string>();
  private readonly toDeliver = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;

  /** Presence announcements this process has published (tests count them). */
  get announcementCount(): number {
    return this.announcements;
  }

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** Resolves once this process LISTENs (connecting on first use); rejects while PostgreSQL is unreachable. */
  ready(): Promise<void> {
    this.closed = false;
    if (this.reconnectTimer) return Promise.reject(new Error('the event connection is reconnecting'));
    this.listening ??= this.connect();
    return this.listening;
  }

  /** Whether the LISTEN connection is up. */
  get connected(): boolean {
    return this.live;
  }

  /** The PostgreSQL backend serving the LISTEN connection while it is up: it ends when this process does. */
  get backendPid(): number | null {
    return this.live ? this.pid : null;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: requireDatabaseUrl(), keepAlive: true, application_name: listenerName(process.pid) });
    this.client = client;
    // Both fire when PostgreSQL stops or the socket drops; either way, start over.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => msg.channel === EVENT_CHANNEL && msg.payload && this.deliver(msg.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENT_CHANNEL}`);
      this.pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    } catch (err) {
      this.lost(client, err as Error);
      throw err;
    }
    if (this.client !== client) throw new Error('the event connection was lost while connecting');
    this.attempt = 0;
    this.live = true;
    const reconnected = this.connections++ > 0;
    this.heartbeat ??= setInterval(() => void this.announceAll(), PRESENCE_HEARTBEAT_MS).unref();
    if (reconnected) {
      // (`on()` also listens for 'error', which is no topic)
      for (const topic of this.emitter.eventNames())
        if (topic !== 'error') this.emitter.emit(topic, { topic: String(topic), type: 'resync' } satisfies DeliveredEvent);
      await this.announceAll();
    }
  }

  private lost(client: pg.Client, err?: Error) {
    if (client !== this.client) return; // already handled, or an old connection's late event
    this.client = null;
    this.listening = null;
    this.live = false;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.closed) return;
    if (err) console.error(`[events] LISTEN connection lost: ${err.message}`);
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt++) * (0.75 + Math.random() / 2);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.ready().catch(() => undefined); // a failure schedules the next try
    }, delay);
  }

  private deliver(payload: string) {
    let event: LexiconEvent & { count?: number };
    try {
      event = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof event.topic !== 'string') return;
    if (event.type === 'presence') return this.onPresence(event as PresenceAnnouncement);
    if (event.topic === ACCESS_TOPIC) {
      this.accessChanges++;
      for (const topic of this.emitter.eventNames())
        if (topic !== 'error') this.emitter.emit(topic, { topic: String(topic), type: 'access' } satisfies DeliveredEvent);
      return;
    }
    this.emitter.emit(event.topic, { topic: event.topic, type: event.type, id: event.id } satisfies DeliveredEvent);
  }

  /** Calls `listener` for each event on `topic`; returns the unsubscribe function. */
  subscribe(topic: string, listener: (event: DeliveredEvent) => void): () => void {
    this.ready().catch(() => undefined);
    this.emitter.on(topic, listener);
    return () => this.emitter.off(topic, listener);
  }

  /** The events on `topic` from now on (buffered), as an async iterable that ends when `signal` aborts. */
  events(topic: string, signal?: AbortSignal): AsyncIterable<DeliveredEvent> {
    this.ready().catch(() => undefined);
    const iterator = on(this.emitter, topic, { signal }); // listening from here, not from the first read
    return (async function* () {
      try {
        for await (const [event] of iterator) yield event as DeliveredEvent;
      } catch (err) {
        if (!signal?.aborted) throw err;
      }
    })();
  }

  // Presence: each process counts its own viewers per topic and announces the count (on change and on a
  // heartbeat); the total is the sum of the fresh announcements of every process.

  /**
   * Counts `viewerKey` as viewing `topic` until the returned function is called (one person in several tabs counts
   * once); without a key, one anonymous viewer, counted per subscription.
   */
  join(topic: string, viewerKey?: string): () => void {
    let viewers = this.localViewers.get(topic);
    if (!viewers) this.localViewers.set(topic, (viewers = { keys: new Map(), anonymous: 0 }));
    const local = viewers;
    const before = this.localCount(topic);
    if (viewerKey === undefined) local.anonymous++;
    else local.keys.set(viewerKey, (local.keys.get(viewerKey) ?? 0) + 1);
    if (this.localCount(topic) !== before) this.presenceChanged(topic, true);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (viewerKey === undefined) local.anonymous--;
      else {
        const n = local.keys.get(viewerKey)! - 1;
        if (n > 0) return void local.keys.set(viewerKey, n);
        local.keys.delete(viewerKey);
      }
      if (local.keys.size === 0 && local.anonymous === 0 && this.localViewers.get(topic) === local) this.localViewers.delete(topic);
      this.presenceChanged(topic, true);
    };
  }

  private localCount(topic: string): number {
    const viewers = this.localViewers.get(topic);
    return viewers ? viewers.keys.size + viewers.anonymous : 0;
  }

  /** Delivers the new count of `topic` (and announces it, when it changed here) at the next flush. */
  private presenceChanged(topic: string, announce: boolean) {
    (announce ? this.toAnnounce : this.toDeliver).add(topic);
    this.flushTimer ??= setTimeout(() => void this.flushPresence(), PRESENCE_COALESCE_MS);
  }

  private async flushPresence() {
    this.flushTimer = null;
    const announce = [...this.toAnnounce];
    const deliver = [...this.toDeliver].filter((topic) => !this.toAnnounce.has(topic));
    this.toAnnounce.clear();
    this.toDeliver.clear();
    for (const topic of deliver) this.emitPresence(topic);
    await this.announce(announce);
  }

  /** People viewing `topic` across all processes, as this process knows it. */
  viewing(topic: string): number {
    const now = Date.now();
    let total = this.localCount(topic);
    for (const [processId, entry] of this.remoteViewers.get(topic) ?? [])
      if (processId !== this.processId && now - entry.at < PRESENCE_TTL_MS) total += entry.count;
    return total;
  }

  private emitPresence(topic: string) {
    this.emitter.emit(topic, { topic, type: 'presence', count: this.viewing(topic) } satisfies DeliveredEvent);
  }

  /** Delivers the counts of `topics` here and announces them to the other processes, in one statement. */
  private async announce(topics: string[]) {
    if (topics.length === 0) return;
    for (const topic of topics) this.emitPresence(topic);
    const announcements = topics.map((topic) =>
      JSON.stringify({ topic, type: 'presence', id: this.processId, count: this.localCount(topic), seq: ++this.announcements } satisfies PresenceAnnouncement),
    );
    try {
      await getPool().query('select pg_notify($1, a) from unnest($2::text[]) with ordinality as t(a, n) order by n', [EVENT_CHANNEL, announcements]);
    } catch (err) {
      console.error(`[events] presence not announced: ${(err as Error).message}`);
    }
  }

  private async announceAll() {
    const now = Date.now();
    for (const [topic, entries] of this.remoteViewers) {
      for (const [processId, entry] of entries) if (now - entry.at >= PRESENCE_TTL_MS) entries.delete(processId);
      if (entries.size === 0) this.remoteViewers.delete(topic);
    }
    await this.announce([...this.localViewers.keys()]);
  }

  private onPresence(a: PresenceAnnouncement) {
    if (a.id === this.processId || typeof a.count !== 'number' || typeof a.seq !== 'number') return;
    const entries = this.remoteViewers.get(a.topic) ?? new Map<string, RemotePresence>();
    this.remoteViewers.set(a.topic, entries);
    const last = entries.get(a.id);
    if (last && a.seq <= last.seq) return;
    const known = (last?.count ?? 0) > 0;
    entries.set(a.id, { count: a.count, seq: a.seq, at: Date.now() });
    // A process new to this topic has not heard our count yet: tell it now rather than at the next heartbeat.
    this.presenceChanged(a.topic, !known && a.count > 0 && this.localViewers.has(a.topic));
  }

  /** Closes the connection (tests, shutdown); a later subscribe opens it again. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.reconnectTimer = this.heartbeat = this.flushTimer = null;
    this.toAnnounce.clear();
    this.toDeliver.clear();
    const client = this.client;
    this.client = null;
    this.listening = null;
    this.live = false;
    await client?.end().catch(() => undefined);
  }
}

// One hub per process, kept across Next.js dev reloads.
const globalForEvents = globalThis as unknown as { lexiconEventHub?: EventHub };

export function eventHub(): EventHub {
  globalForEvents.lexiconEventHub ??= new EventHub();
  return globalForEvents.lexiconEventHub;
}
