/** `npm run db:migrate`: applies drizzle/migrations to DATABASE_URL or the embedded database. */
import { config } from '@/server/config';
import { runMigrations } from '@/server/migrate';
import { openDatabase } from '@/server/postgres';

const pg = await openDatabase({ dataDir: config.dataDir, port: config.pgPort });
try {
  await runMigrations(pg.url);
  console.log('[db] migrations applied');
} finally {
  await pg.stop();
}
