import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from '@/drizzle/schema';

export type Db = NodePgDatabase<typeof schema>;

export function requireDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: start Lexicon with `npm start`, which provides one.');
  return url;
}

// One pool per process, kept across Next.js dev reloads.
const globalForDb = globalThis as unknown as { lexiconPool?: pg.Pool; lexiconDb?: Db };

export function getPool(): pg.Pool {
  if (!globalForDb.lexiconPool) {
    const pool = new pg.Pool({ connectionString: requireDatabaseUrl(), max: 10 });
    // An idle client losing its connection (e.g. PostgreSQL restarting) must not crash the process.
    pool.on('error', (err) => console.error('[db] idle client error:', err.message));
    globalForDb.lexiconPool = pool;
  }
  return globalForDb.lexiconPool;
}

export function getDb(): Db {
  globalForDb.lexiconDb ??= drizzle(getPool(), { schema });
  return globalForDb.lexiconDb;
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
