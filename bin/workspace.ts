/**
 * What the commands that work on the database share. They run against the database of `npm start` (or DATABASE_URL,
 * or the embedded one, started for the command).
 */
import type { Db } from '../server/db';
import type { ModelRow } from '../server/models';
import { InputError } from '../compute/errors';

/**
 * Runs `fn` against the database of `npm start` (or DATABASE_URL, or the embedded one, started for the call: with
 * `ownProcessGroup`, out of the reach of a Ctrl-C, for a command that takes the signals over and stops it itself).
 */
export async function withDatabase<T>(fn: (db: Db) => Promise<T>, options: { ownProcessGroup?: boolean } = {}): Promise<T> {
  const [{ config }, { getDb, getPool }, { runMigrations }, { openDatabase }] = await Promise.all([
    import('../server/config'),
    import('../server/db'),
    import('../server/migrate'),
    import('../server/postgres'),
  ]);
  const pg = await openDatabase({ dataDir: config.dataDir, port: config.pgPort, ownProcessGroup: options.ownProcessGroup });
  try {
    await runMigrations(pg.url);
    process.env.DATABASE_URL = pg.url;
    return await fn(getDb());
  } finally {
    await getPool().end();
    await pg.stop();
  }
}

export async function modelBySlug(db: Db, slug: string): Promise<ModelRow> {
  const { getModelBySlug } = await import('../server/models');
  const model = await getModelBySlug(db, slug);
  if (!model) throw new InputError(`no model "${slug}" is registered; add it first with \`lexicon model add DIR\``);
  return model;
}

export function describeCorpus(c: { id: string; name: string; nContexts: number; nTokens: number; contextSize: number; prependBos: boolean; contentHash: string }) {
  return `${c.id}  ${c.name}: ${c.nContexts} contexts × ${c.contextSize} tokens = ${c.nTokens} tokens, ${c.prependBos ? 'BOS prepended' : 'no BOS'}, sha256 ${c.contentHash.slice(0, 12)}`;
}
