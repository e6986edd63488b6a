/** A worker's heartbeat: its row in `worker`, refreshed every HEARTBEAT_MS; jobs of a worker that stops beating are orphans. */
import os from 'node:os';
import { eq, sql } from 'drizzle-orm';
import { workers } from '@/drizzle/schema';
import { announceShardsLeftBy } from '@/server/dashboard-shards';
import type { Db } from '@/server/db';
import { HEARTBEAT_MS } from '@/server/jobs';

export interface Heartbeat {
  id: string;
  /**
   * stops beating and, with `forget`, removes the row (a clean exit: the worker is gone, not dead), telling the other
   * workers that the dashboard shards it was running are theirs to claim
   */
  stop(options?: { forget?: boolean }): Promise<void>;
}

export async function startHeartbeat(db: Db, backend: string, id = `${os.hostname()}:${process.pid}`): Promise<Heartbeat> {
  const beat = () =>
    db
      .insert(workers)
      .values({ id, backend, host: os.hostname(), pid: process.pid })
      .onConflictDoUpdate({ target: workers.id, set: { lastSeen: sql`now()`, backend } })
      .catch((err: Error) => console.error('[worker] heartbeat failed:', err.message));
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  return {
    id,
    async stop(options = {}) {
      clearInterval(timer);
      if (!options.forget) return;
      await db
        .transaction(async (tx) => {
          await tx.delete(workers).where(eq(workers.id, id));
          await announceShardsLeftBy(tx, id);
        })
        .catch(() => undefined);
    },
  };
}
