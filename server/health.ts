import { desc, sql } from 'drizzle-orm';
import pg from 'pg';
import { workers } from '@/drizzle/schema';
import { requireDatabaseUrl, type Db } from './db';

export interface Health {
  ok: boolean;
  db: boolean;
  worker: { backend: string; lastSeen: string } | null;
}

/** Database reachable, and the most recently seen compute worker. */
export async function checkHealth(db: Db): Promise<Health> {
  try {
    await db.execute(sql`select 1`);
    const [worker] = await db.select().from(workers).orderBy(desc(workers.lastSeen)).limit(1);
    return {
      ok: true,
      db: true,
      worker: worker ? { backend: worker.backend, lastSeen: worker.lastSeen.toISOString() } : null,
    };
  } catch {
    return { ok: false, db: false, worker: null };
  }
}

/** How long a health check waits for PostgreSQL before it answers "unreachable". */
const HEALTH_TIMEOUT_MS = 2_000;

/**
 * The health check of the web process (/api/health). It never waits on the request pool, which a flood of requests
 * can keep busy: it has a connection of its own (opened on first use, again after a failure), checks run one at a
 * time on it and concurrent callers share the check in flight, and PostgreSQL not answering within HEALTH_TIMEOUT_MS
 * is reported as a failure rather than waited for.
 */
export class HealthProbe {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private inFlight: Promise<Health> | null = null;

  constructor(private readonly url: () => string = requireDatabaseUrl) {}

  check(): Promise<Health> {
    this.inFlight ??= this.run().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: HEALTH_TIMEOUT_MS, statement_timeout: HEALTH_TIMEOUT_MS, keepAlive: true });
      client.on('error', () => this.drop(client));
      client.on('end', () => this.drop(client));
      try {
        await client.connect();
      } catch (err) {
        this.drop(client);
        throw err;
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private drop(client: pg.Client) {
    if (this.client === client) this.client = null;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
  }

  private async run(): Promise<Health> {
    let timer: NodeJS.Timeout | undefined;
    let client: pg.Client | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('PostgreSQL did not answer the health check in time')), HEALTH_TIMEOUT_MS);
    });
    try {
      const { rows } = await Promise.race([
        (async () => {
          client = await this.connection();
          return client.query<{ backend: string; last_seen: Date }>('select backend, last_seen from worker order by last_seen desc limit 1');
        })(),
        timeout,
      ]);
      const worker = rows[0];
      return { ok: true, db: true, worker: worker ? { backend: worker.backend, lastSeen: worker.last_seen.toISOString() } : null };
    } catch {
      // a connection that did not answer in time may be half-dead: the next check opens a fresh one
      if (client) this.drop(client);
      return { ok: false, db: false, worker: null };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

// One probe per process, kept across Next.js dev reloads.
const globalForHealth = globalThis as unknown as { lexiconHealthProbe?: HealthProbe };

export function healthProbe(): HealthProbe {
  globalForHealth.lexiconHealthProbe ??= new HealthProbe();
  return globalForHealth.lexiconHealthProbe;
}
