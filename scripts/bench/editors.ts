/**
 * `npm run bench:editors`: concurrent editors saving the same feature page in a loop against a real (embedded,
 * temporary) PostgreSQL through the real tRPC caller. Each editor reads the current revision (feature.current) and
 * saves on top of it (feature.edit with it as base); the race decides which saves are accepted. Prints attempts,
 * accepted saves, conflicts and revisions written, and exits 1 when an invariant breaks: accepted == new revisions,
 * accepted + conflicts == attempts, revision numbers contiguous, every accepted save stored as sent (no lost update).
 *
 *   npm run bench:editors -- [--editors 50] [--rounds 20]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getDb, getPool } from '@/server/db';
import { runMigrations } from '@/server/migrate';
import { startEmbeddedPostgres } from '@/server/postgres';
import { makeEditors, runConcurrentEditors } from '../../tests/helpers/concurrent-editors';
import { seedSyntheticModel } from '../../tests/helpers/synthetic';

const { values } = parseArgs({ options: { editors: { type: 'string', default: '50' }, rounds: { type: 'string', default: '20' } } });
const editorCount = Number(values.editors);
const rounds = Number(values.rounds);
if (!Number.isInteger(editorCount) || editorCount < 2 || !Number.isInteger(rounds) || rounds < 1)
  throw new Error('--editors must be an integer ≥ 2 and --rounds an integer ≥ 1');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-bench-editors-'));
fs.chmodSync(dir, 0o755); // PostgreSQL runs as `postgres` when we are root
const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
let failed = false;
try {
  await runMigrations(pg.url);
  process.env.DATABASE_URL = pg.url;
  const db = getDb();
  const model = await seedSyntheticModel(db, { slug: 'bench', saes: [{ slug: 'editors', hookName: 'blocks.0.hook_resid_post', dSae: 16 }] });
  const editors = await makeEditors(db, editorCount);
  const address = { model: 'bench', sae: 'editors', index: 3 };
  console.log(`${editorCount} editors × ${rounds} rounds on ${address.model}/${address.sae}/${address.index} (pool of ${getPool().options.max} connections)`);
  const r = await runConcurrentEditors(db, { address, saeId: model.saes[0]!.id, editors, rounds });
  console.log(`attempts        ${r.attempts}`);
  console.log(`accepted saves  ${r.accepted}`);
  console.log(`conflicts       ${r.conflicts}`);
  console.log(`new revisions   ${r.newRevisions} (page at revision ${r.endRevision}, was ${r.startRevision})`);
  console.log(`time            ${(r.elapsedMs / 1000).toFixed(2)} s, ${((1000 * r.attempts) / r.elapsedMs).toFixed(0)} saves attempted/s`);
  if (r.violations.length > 0) {
    failed = true;
    console.error(`INVARIANTS BROKEN:\n  ${r.violations.join('\n  ')}`);
  } else {
    console.log('invariants hold: accepted == new revisions, accepted + conflicts == attempts, revisions contiguous, no lost update');
  }
} finally {
  await getPool().end();
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
