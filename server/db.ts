import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from '@/drizzle/schema';
import { z } from 'zod';

export type Db = NodePgDatabase<typeof schema>;

/** Whether `id` can be compared with a uuid column: PostgreSQL fails the whole query on a malformed one. */
export const isUuid = (id: string) => z.uuid().safeParse(id).success;

export function requireDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: start Lexicon with `npm start`, which provides one.');
  return url;
}

/**
 * In the web process (the Next.js server: NEXT_RUNTIME is set in its bundles) no statement runs longer than
 * LEXICON_STATEMENT_TIMEOUT_MS (default 15 s): a request that would hold a pooled connection longer fails instead of
 * starving the others. Workers and the CLI run long jobs on purpose and have no limit.
 */
export function webStatementTimeout(): { statement_timeout?: number } {
  if (!process.env.NEXT_RUNTIME) return {};
  const raw = process.env.LEXICON_STATEMENT_TIMEOUT_MS;
  const ms = raw === undefined || raw.trim() === '' ? 15_000 : Number(raw);
  if (!(Number.isInteger(ms) && ms >= 0)) throw new Error(`LEXICON_STATEMENT_TIMEOUT_MS must be a whole number of milliseconds, got "${raw}"`);
  return ms > 0 ? { statement_timeout: ms } : {};
}

// One pool per process, kept across Next.js dev reloads.
const globalForDb = globalThis as unknown as { lexiconPool?: pg.Pool; lexiconDb?: Db };

/**
 * A pool on `url` that survives its connections dying: PostgreSQL restarting, or stopping just after the pool's end()
 * resolved (pg-pool resolves once it has asked its clients to end, before their sockets close).
 */
export function openPool(url: string, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, ...options });
  // An idle client losing its connection must not crash the process.
  pool.on('error', (err) => console.error('[db] idle client error:', err.message));
  // A checked-out client has no listener of the pool's, and an 'error' event without one would crash the process
  // (PostgreSQL restarting between two statements of a transaction). The caller's next statement fails with the
  // error instead, and the pool drops the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function getPool(): pg.Pool {
  globalForDb.lexiconPool ??= openPool(requireDatabaseUrl(), { max: 10, ...webStatementTimeout() });
  return globalForDb.lexiconPool;
}

export function getDb(): Db {
  globalForDb.lexiconDb ??= withReleasingTransactions(drizzle(getPool(), { schema }), getPool());
  return globalForDb.lexiconDb;
}

/**
 * drizzle's transactions on a pool send BEGIN before their try/finally, so a BEGIN that fails (PostgreSQL restarting)
 * never gives its client back, and a handful of those exhaust the pool for good. Here the client is checked out and
 * released around drizzle's transaction on that one client (same semantics, savepoints for nested ones).
 */
function withReleasingTransactions(db: Db, pool: pg.Pool): Db {
  const transaction: Db['transaction'] = async (fn, config) => {
    const client = await pool.connect();
    try {
      return await drizzle(client, { schema }).transaction(fn, config);
    } finally {
      client.release();
    }
  };
  return Object.assign(db, { transaction });
}

/**
 * Runs `fn` in one transaction on one pooled client, handing it both a drizzle handle and the raw
 * client (pg-boss can enqueue on that client, so a job row and its queue entry commit together).
 */
export async function withTransaction<T>(fn: (tx: Db, client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await getPool().connect();
  try {
    await client.query('BEGIN');
    const result = await fn(drizzle(client, { schema }), client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Whether an error means the connection to PostgreSQL was lost or refused (a restart, a failover), rather than that
 * the statement itself failed: then a read may simply be tried again.
 */
export function isConnectionLoss(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    // 57P01-03: admin shutdown, crash shutdown, cannot connect now; class 08: connection exceptions
    if (typeof e.code === 'string' && (/^(57P0[123]|08...)$/.test(e.code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(e.code))) return true;
    if (typeof e.message === 'string' && /Connection terminated|connection error|not queryable|terminating connection/i.test(e.message)) return true;
  }
  return false;
}

const RETRY_DELAYS_MS = [250, 500, 1000, 2000];
/** How many retries retryOnConnectionLoss made in this process (the restart benchmark reports it). */
export const connectionRetries = { count: 0 };

/** Runs an idempotent `read`, again after a pause while the failure is a lost connection (about 4 s in all). */
export async function retryOnConnectionLoss<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= RETRY_DELAYS_MS.length || !isConnectionLoss(err)) throw err;
      connectionRetries.count++;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}
