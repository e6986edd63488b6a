/**
 * feature_example.run_id and corpus_context.corpus_id are kept by statement-level triggers instead of foreign keys
 * (migration example_statement_checks, faster for an import's COPY): rows that point at no run or corpus are refused,
 * and deleting a run or a corpus, directly or through the SAE's deletion, deletes its rows.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { IMPORT_FORMATS } from '@/server/exchange';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { writeNeuronpediaExport } from '../helpers/neuronpedia-export';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let tmp: string;

beforeAll(async () => {
  database = await startTestDatabase();
  model = await seedSyntheticModel(getDb(), { slug: 'gpt2-ref', saes: [{ slug: 'res8', hookName: 'blocks.8.hook_resid_pre', dSae: 16 }] });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-refs-'));
}, 120_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** an imported run of the SAE, and its corpus */
async function importedRun(): Promise<{ runId: string; corpusId: string }> {
  const { dir } = await writeNeuronpediaExport(tmp, { modelId: 'gpt2-ref', sourceId: '8-res-jb', vocab: model.vocab, nFeatures: 4, seed: Date.now() % 1000 });
  const outcome = await IMPORT_FORMATS.neuronpedia.run(getDb(), { location: dir });
  if (outcome.unchanged) throw new Error('the import changed nothing');
  const { rows } = await getDb().execute<{ corpus_id: string }>(sql`select corpus_id from dashboard_run where id = ${outcome.runId}`);
  return { runId: outcome.runId, corpusId: rows[0]!.corpus_id };
}

const count = async (table: 'feature_example' | 'corpus_context', column: 'run_id' | 'corpus_id', id: string) => {
  const { rows } = await getDb().execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)} where ${sql.identifier(column)} = ${id}`);
  return rows[0]!.n;
};

describe('the references of examples and contexts', () => {
  it('refuses an example of no run and a context of no corpus, naming the key', async () => {
    const { runId, corpusId } = await importedRun();
    const missing = randomUUID();
    const example = (run: string) =>
      getDb().execute(sql`insert into feature_example (run_id, feature_index, kind, interval, rank, context_index, max_act, max_pos, acts)
                          values (${run}, 0, 'random', -1, 99, 0, 1, 0, '\\x0000803f'::bytea)`);
    await expect(example(missing)).rejects.toMatchObject({ cause: { code: '23503', detail: `Key (run_id)=(${missing}) is not present in table "dashboard_run".` } });
    await expect(getDb().execute(sql`insert into corpus_context (corpus_id, index, tokens) values (${missing}, 0, '\\x0100000002000000'::bytea)`)).rejects.toMatchObject({
      cause: { code: '23503', detail: `Key (corpus_id)=(${missing}) is not present in table "corpus".` },
    });
    await expect(getDb().execute(sql`update feature_example set run_id = ${missing} where run_id = ${runId}`)).rejects.toMatchObject({ cause: { code: '23503' } });
    // a row of an existing run and corpus goes in
    await example(runId);
    await getDb().execute(sql`insert into corpus_context (corpus_id, index, tokens) values (${corpusId}, 100000, '\\x0100000002000000'::bytea)`);
    expect(await count('feature_example', 'run_id', runId)).toBe(4 * 7 + 1);
  });

  it('deletes a run’s examples with the run (through the SAE’s deletion too) and a corpus’s contexts with the corpus', async () => {
    const first = await importedRun();
    const second = await importedRun();
    expect(await count('feature_example', 'run_id', first.runId)).toBeGreaterThan(0);
    await getDb().execute(sql`delete from dashboard_run where id = ${first.runId}`);
    expect(await count('feature_example', 'run_id', first.runId)).toBe(0);
    expect(await count('feature_example', 'run_id', second.runId)).toBe(4 * 7);

    await getDb().execute(sql`delete from sae where id = ${model.saes[0]!.id}`);
    expect(await count('feature_example', 'run_id', second.runId)).toBe(0);
    expect(await count('corpus_context', 'corpus_id', second.corpusId)).toBe(4 * 7);
    await getDb().execute(sql`delete from corpus where id = ${second.corpusId}`);
    expect(await count('corpus_context', 'corpus_id', second.corpusId)).toBe(0);
  });
});
