import { desc, sql } from 'drizzle-orm';
import { workers } from '@/drizzle/schema';
import type { Db } from './db';

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
