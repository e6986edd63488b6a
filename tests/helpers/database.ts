/** A real PostgreSQL for a test file: embedded, in a temporary directory, migrated. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMigrations } from '@/server/migrate';
import { startEmbeddedPostgres } from '@/server/postgres';

export interface TestDatabase {
  url: string;
  dir: string;
  /** stops PostgreSQL and starts it again on the same data and port (what a restart of the server does) */
  restart(options?: { downMs?: number; onStopped?: () => void }): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-test-'));
  // PostgreSQL runs as user `postgres` when we are root: it must be able to enter the directory.
  fs.chmodSync(dir, 0o755);
  let pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  await runMigrations(pg.url);
  process.env.DATABASE_URL = pg.url;
  const port = Number(new URL(pg.url).port);
  return {
    url: pg.url,
    dir,
    async restart({ downMs = 0, onStopped } = {}) {
      await pg.stop();
      onStopped?.();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port });
    },
    async stop() {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
