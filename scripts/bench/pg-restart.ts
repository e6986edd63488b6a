/**
 * `npm run bench:pg-restart`: PostgreSQL restarting while users post (tests/helpers/pg-restart.ts). Starts an embedded
 * PostgreSQL in a temporary directory, seeds a synthetic SAE and some users, runs writers (comments with a feature link,
 * feature edits) and readers (feature pages through tRPC), stops and starts PostgreSQL mid-way, and prints what the
 * clients saw, how long recovery took, and the consistency checks. Removes what it made.
 *
 *   npm run bench:pg-restart [-- --writers 20] [--readers 4] [--seconds 8] [--restart-at 3] [--down 2] [--rounds 1]
 */
import { getDb, getPool } from '@/server/db';
import { eventHub } from '@/server/events';
import { signUp, type UserRow } from '@/server/users';
import { startTestDatabase } from '@/tests/helpers/database';
import { formatFigures, restartScenario } from '@/tests/helpers/pg-restart';
import { seedSyntheticModel } from '@/tests/helpers/synthetic';
import { amount, integer } from './options';

const writers = integer('writers', 20, 0);
const readers = integer('readers', 4, 0);
const seconds = amount('seconds', 8);
const restartAt = amount('restart-at', 3);
const down = amount('down', 2);
const rounds = integer('rounds', 1, 0);
const D_SAE = 64;

const database = await startTestDatabase();
try {
  const users: UserRow[] = [];
  for (let i = 0; i < 8; i++) users.push(await signUp({ name: `Writer${i}`, email: `writer${i}@example.org`, password: 'correct horse battery' }));
  const model = await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: D_SAE }], topExamples: 2 });
  await eventHub().ready();
  for (let round = 1; round <= rounds; round++) {
    const figures = await restartScenario(
      database,
      { users, model: 'synth', sae: '1-res', saeId: model.saes[0]!.id, dSae: D_SAE },
      { writers, readers, durationMs: seconds * 1000, restartAtMs: restartAt * 1000, downMs: down * 1000 },
    );
    const pool = getPool();
    console.log(`\n# round ${round}\n${formatFigures(figures)}\npool after: ${pool.totalCount} connections, ${pool.idleCount} idle, ${pool.waitingCount} waiting`);
  }
} finally {
  await eventHub().close();
  await getPool().end();
  await database.stop();
}
