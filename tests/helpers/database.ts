/** A real PostgreSQL for a test file: embedded, in a temporary directory, migrated. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMigrations } from '@/server/migrate';
import { startEmbeddedPostgres } from '@/server/postgres';

export interface TestDatabase {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-test-'));
  // PostgreSQL runs as user `postgres` when we are root: it must be able to enter the directory.
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  await runMigrations(pg.url);
  process.env.DATABASE_URL = pg.url;
  return {
    url: pg.url,
    dir,
    async stop() {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
