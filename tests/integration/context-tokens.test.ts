/**
 * corpus_context.tokens as little-endian int32 bytes (server/context-tokens.ts): the migration that converts a
 * database's int4[] contexts keeps every id, negative ones (−1 padding, an imported run's own pieces) included, and
 * what is stored reads back as the same ids.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Tokens, bytesToTokens, tokensToBytes } from '@/server/context-tokens';
import { loadCorpusContexts, storeCorpus } from '@/server/corpora';
import { getDb, getPool } from '@/server/db';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;

beforeAll(async () => {
  database = await startTestDatabase();
  model = await seedSyntheticModel(getDb(), { slug: 'gpt2-ctx', saes: [], nContexts: 2 });
}, 120_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

const CONTEXTS = [[50256, 0, 1, -1, -1], [-2147483648, 2147483647, -9, 256, 65536, 16777216], [], [7]];

describe('context tokens as bytes', () => {
  it('are little-endian int32s, negative ids in two’s complement, and read back as given', () => {
    expect(tokensToBytes([1, -1, 258]).toString('hex')).toBe('01000000ffffffff02010000');
    for (const ids of CONTEXTS) {
      expect(bytesToTokens(tokensToBytes(ids))).toEqual(ids);
      expect(base64Tokens(tokensToBytes(ids).toString('base64'))).toEqual(ids);
    }
    // bytes at an odd offset of their buffer, as the driver may hand them
    expect(bytesToTokens(Buffer.concat([Buffer.from([9]), tokensToBytes([5, -3])]).subarray(1))).toEqual([5, -3]);
    expect(() => bytesToTokens(Buffer.from([1, 0, 0]))).toThrow(/3 bytes, not whole int32s/);
  });

  it('are stored and loaded by corpora through the column', async () => {
    const corpus = await storeCorpus({ modelId: model.id, name: 'ctx stored', contexts: CONTEXTS, contextSize: 6, prependBos: false, source: {} });
    expect(await loadCorpusContexts(getDb(), corpus.id)).toEqual(CONTEXTS);
    const { rows } = await getDb().execute<{ tokens: Buffer }>(sql`select tokens from corpus_context where corpus_id = ${corpus.id} and index = 0`);
    expect(rows[0]!.tokens.toString('hex')).toBe('50c40000' + '00000000' + '01000000' + 'ffffffff'.repeat(2));
  });

  it('keep their ids through the migration from int4[]', async () => {
    // the column as it was before the migration, holding the contexts as int4[] (other rows' tokens emptied)
    await getPool().query(`alter table corpus_context alter column tokens type int4[] using '{}'::int4[]`);
    const { rows: [corpus] } = await getPool().query<{ id: string }>(
      `insert into corpus (model_id, name, context_size, prepend_bos, content_hash, n_contexts, n_tokens, source)
       values ($1, 'ctx before', 6, false, 'before', $2, 0, '{}') returning id`,
      [model.id, CONTEXTS.length],
    );
    for (const [index, ids] of CONTEXTS.entries()) {
      await getPool().query(`insert into corpus_context (corpus_id, index, tokens) values ($1, $2, $3::int4[])`, [corpus!.id, index, `{${ids.join(',')}}`]);
    }
    const migration = readFileSync(new URL('../../drizzle/migrations/0021_context_tokens_bytea.sql', import.meta.url), 'utf8');
    for (const statement of migration.split('--> statement-breakpoint')) await getPool().query(statement);
    expect(await loadCorpusContexts(getDb(), corpus!.id)).toEqual(CONTEXTS);
    // the function that converted them is gone
    const { rows } = await getPool().query(`select 1 from pg_proc where proname = 'lexicon_int4_le_bytes'`);
    expect(rows).toHaveLength(0);
  });
});
