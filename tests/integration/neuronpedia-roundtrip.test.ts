/**
 * The Neuronpedia layout both ways on real dashboards: stories260K's dashboards over the short-stories corpus,
 * exported, then imported into a second slot of the same SAE, give the same feature rows and examples (the fields
 * the layout carries; the weight statistics come from the SAE's own files), and the labels come back as proposals.
 * Each feature's vector is its decoder row from the SAE's weights; an export imported into a fresh instance (a second
 * database, through the command line) exports again as the same files, explanations included: labels and every label
 * proposal (a person's, an automatic one, one imported from Neuronpedia) with its provenance. Decoder vectors given
 * for an SAE with files are checked against its own rows.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '@/drizzle/schema';
import { getDb, getPool, openPool } from '@/server/db';
import { registerModel } from '@/server/register-models';
import { EXPORT_FORMATS, IMPORT_FORMATS } from '@/server/exchange';
import { readSaeWeights } from '@/server/exchange/target-sae';
import { labelStanding, proposeFromSource, proposeLabel, voteLabel } from '@/server/label-votes';
import { storedDecoder } from '@/server/sae-decoder';
import { registerSae } from '@/server/register-saes';
import type { SaeRow } from '@/server/saes';
import { signUp, type UserRow } from '@/server/users';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards, STORIES_SAE_DIR } from '../helpers/stories';
import { STORIES_DIR } from '../shared';
import { labelFeatures } from '../helpers/synthetic';
import { lexiconWithEnv } from '../unit/cli-helpers';

let database: TestDatabase;
let modelSlug: string;
let original: SaeRow;
let copy: SaeRow;
let tmp: string;
let ada: UserRow;

beforeAll(async () => {
  database = await startTestDatabase();
  const seeded = await seedStoriesDashboards(getDb());
  modelSlug = seeded.modelRow.slug;
  original = seeded.saeRow;
  copy = await registerSae(getDb(), seeded.modelRow, STORIES_SAE_DIR, { slug: 'l2-copy' });
  ada = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  await labelFeatures(getDb(), original.id, [{ index: 1, label: 'once upon a time', body: 'Fires on story openings.' }], ada.id);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-roundtrip-'));
}, 300_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
  await fs.rm(tmp, { recursive: true, force: true });
});

interface FeatureRow {
  index: number;
  n_tokens: string;
  nonzero_count: string;
  density: number;
  max_act: number;
  histogram: { edges: number[]; counts: number[] };
  intervals: { lo: number; hi: number; count: number }[];
  logit_top: unknown;
  logit_bottom: unknown;
  logit_histogram: { edges: number[]; counts: number[] };
  encoder_bias: number;
  encoder_norm: number;
  decoder_norm: number;
  de_dot: number;
  de_cos: number;
}

async function currentFeatures(saeId: string) {
  const { rows } = await getDb().execute<FeatureRow & Record<string, unknown>>(sql`
    select f.* from feature f join sae s on f.run_id = s.current_run_id where s.id = ${saeId} order by f.index`);
  return rows;
}

/** Examples keyed by feature, kind, the interval's lower bound and rank, with their tokens. */
async function currentExamples(saeId: string) {
  const { rows } = await getDb().execute<{ key: string; tokens: Buffer; acts: Buffer; max_act: number; max_pos: number; position: number | null; loss_delta: Buffer | null }>(sql`
    select concat_ws(' ', x.feature_index, x.kind, case when x.kind = 'interval' then (f.intervals -> x.interval ->> 'lo') end, x.rank) as key,
           cc.tokens, x.acts, x.max_act, x.max_pos, x.position, x.loss_delta
      from sae s
      join dashboard_run r on r.id = s.current_run_id
      join feature_example x on x.run_id = r.id
      join feature f on f.run_id = r.id and f.index = x.feature_index
      join corpus_context cc on cc.corpus_id = r.corpus_id and cc.index = x.context_index
     where s.id = ${saeId} and x.kind <> 'random'`);
  return new Map(rows.map(({ key, ...rest }) => [key, rest]));
}

/** Every file under `dir`, by its path there, gunzipped. */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const names = (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  const read = async (name: string) => {
    const bytes = await fs.readFile(path.join(dir, name));
    return (name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString();
  };
  return Object.fromEntries(await Promise.all(names.sort().map(async (name) => [name, await read(name)])));
}

const closeAll = (actual: number[], expected: number[]) => {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
};

describe('Neuronpedia layout round trip', () => {
  it('stories260K dashboards exported and imported into another slot give the same rows and examples', async () => {
    const dir = path.join(tmp, 'out');
    const exported = await EXPORT_FORMATS.neuronpedia.run(getDb(), { sae: `${modelSlug}/${original.slug}`, dir });
    expect(exported).toMatchObject({ dir: path.join(dir, modelSlug, original.slug), explanations: 1 });
    expect(exported.features).toBe(original.dSae);

    const outcome = await IMPORT_FORMATS.neuronpedia.run(getDb(), { location: exported.dir, sae: `${modelSlug}/${copy.slug}`, weights: readSaeWeights });
    expect(outcome).toMatchObject({ unchanged: false, features: original.dSae, examples: exported.examples, explanations: 1, unmatchedTokens: 0 });

    const [before, after] = [await currentFeatures(original.id), await currentFeatures(copy.id)];
    expect(after.map((f) => f.index)).toEqual(before.map((f) => f.index));
    before.forEach((b, i) => {
      const a = after[i]!;
      for (const key of ['index', 'n_tokens', 'nonzero_count', 'density', 'max_act', 'logit_top', 'logit_bottom', 'encoder_bias', 'encoder_norm', 'decoder_norm', 'de_dot', 'de_cos'] as const) {
        expect(a[key], `feature ${b.index} ${key}`).toEqual(b[key]);
      }
      expect(a.histogram.counts).toEqual(b.histogram.counts);
      closeAll(a.histogram.edges, b.histogram.edges);
      expect(a.logit_histogram.counts).toEqual(b.logit_histogram.counts);
      closeAll(a.logit_histogram.edges, b.logit_histogram.edges);
      // an interval no activation fell in has no example, so no line in the layout
      expect(a.intervals).toEqual(b.intervals.filter((iv) => iv.count > 0));
    });

    const [examplesBefore, examplesAfter] = [await currentExamples(original.id), await currentExamples(copy.id)];
    expect(examplesAfter.size).toBe(examplesBefore.size);
    expect(examplesAfter.size).toBe(exported.examples);
    for (const [key, b] of examplesBefore) expect(examplesAfter.get(key), key).toEqual(b);

    const standing = await labelStanding(getDb(), copy.id, 1, null);
    // the label was Ada's proposal: written once, as the label, with its author
    expect(standing.proposals).toMatchObject([{ label: 'once upon a time', author: null, provenance: { by: 'Neuronpedia (Ada)', source: 'import', type: 'lexicon-label' } }]);
    expect(standing.label).toBe('');
  });

  it('writes each feature’s decoder row from the SAE’s weights; imported into a fresh instance and exported again, the files are the same', async () => {
    // besides Ada's label: a person's proposal that is no label, and an automatic explanation with its score
    const bob = await signUp({ name: 'Bob', email: 'bob@example.org', password: 'correct horse' });
    await proposeLabel(getDb(), { saeId: original.id, index: 1 }, 'the start of a story', bob.id);
    await proposeFromSource(getDb(), { saeId: original.id, index: 2 }, 'the token "Tim"', {
      by: 'auto (qwen2.5-7b)',
      source: 'auto',
      model: 'qwen2.5-7b',
      type: 'top examples, detection-scored',
      prompt: 'the prompt',
      answer: 'the answer',
      scores: { detection: { balancedAccuracy: 0.82, n: 40 } },
    });
    const exported = await EXPORT_FORMATS.neuronpedia.run(getDb(), { sae: `${modelSlug}/${original.slug}`, dir: path.join(tmp, 'with-vectors') });
    expect(exported.vectors).toEqual({ written: original.dSae, from: 'weights' });
    expect(exported.explanations).toBe(3);
    // and an explanation as Neuronpedia writes one (its own id, author, scores and fields we have no column for)
    const explanationsFile = path.join(exported.dir, 'explanations', 'batch-0.jsonl.gz');
    const neuronpedias = {
      id: 'clx9np0000',
      modelId: modelSlug,
      layer: original.slug,
      index: '0',
      description: 'names of people',
      authorId: 'clx9author',
      notes: null,
      scoreV1: 0.4,
      typeName: 'oai_token-act-pair',
      explanationModelName: 'gpt-4o-mini',
      scores: [{ explanationScoreTypeName: 'recall_alt', explanationScoreModelName: 'gpt-4o-mini', value: 0.7 }],
      createdAt: '2024-07-01T00:00:00.000Z',
    };
    await fs.writeFile(explanationsFile, gzipSync(JSON.stringify(neuronpedias) + '\n' + gunzipSync(await fs.readFile(explanationsFile)).toString()));
    const weights = (await readSaeWeights(original))!;
    const written = (await filesUnder(exported.dir))['features/batch-0.jsonl.gz']!.trim().split('\n').map((l) => JSON.parse(l));
    expect(written).toHaveLength(original.dSae);
    for (const f of written) {
      const index = Number(f.index);
      expect(f.hasVector, `feature ${index}`).toBe(true);
      // the loader's row, with the digits that read back to the same float32s
      expect(f.vector.map(Math.fround), `feature ${index}`).toEqual(Array.from(weights.decoder.subarray(index * weights.width, (index + 1) * weights.width)));
    }

    // a fresh instance with the same model and SAE registered, and nothing else
    const fresh = await startTestDatabase();
    process.env.DATABASE_URL = database.url;
    const freshPool = openPool(fresh.url);
    try {
      const freshDb = drizzle(freshPool, { schema });
      await registerSae(freshDb, await registerModel(freshDb, STORIES_DIR), STORIES_SAE_DIR, { slug: original.slug });
      const env = { DATABASE_URL: fresh.url };
      const imported = await lexiconWithEnv(env, 'import', '--format', 'neuronpedia', exported.dir, '--sae', `${modelSlug}/${original.slug}`);
      expect(imported.stdout, imported.stderr).toContain(`${original.dSae} decoder vectors match the SAE's own decoder rows`);
      expect(imported.stdout).toContain('4 explanations proposed as labels');
      const again = path.join(tmp, 'again');
      const second = await lexiconWithEnv(env, 'export', '--sae', `${modelSlug}/${original.slug}`, '--format', 'neuronpedia', again);
      expect(second.stdout, second.stderr).toContain(`${original.dSae} decoder vectors from the SAE's weights`);
      expect(second.stdout).toContain('4 explanations (labels and label proposals)');
      // the same features, vectors, activations, source and explanations, though the label came back as a proposal
      // (no label until a person votes for it)
      const [first, back] = [await filesUnder(exported.dir), await filesUnder(path.join(again, modelSlug, original.slug))];
      expect(Object.keys(back)).toEqual(Object.keys(first));
      for (const name of Object.keys(first)) expect(back[name], name).toEqual(first[name]);
      const { rows: labels } = await freshDb.execute(sql`select count(*)::int as n from feature_page where label <> ''`);
      expect(labels[0]).toEqual({ n: 0 });

      const lines = first['explanations/batch-0.jsonl.gz']!.trim().split('\n').map((l) => JSON.parse(l));
      const ids = { modelId: modelSlug, layer: original.slug };
      expect(lines).toEqual([
        neuronpedias,
        { id: expect.any(String), ...ids, index: '1', description: 'once upon a time', authorId: 'Ada', typeName: 'lexicon-label', explanationModelName: null, notes: 'Fires on story openings.' },
        { id: expect.any(String), ...ids, index: '1', description: 'the start of a story', authorId: 'Bob', typeName: 'lexicon-proposal', explanationModelName: null, notes: null },
        {
          id: expect.any(String),
          ...ids,
          index: '2',
          description: 'the token "Tim"',
          authorId: null,
          typeName: 'top examples, detection-scored',
          explanationModelName: 'qwen2.5-7b',
          notes: null,
          scores: { detection: { balancedAccuracy: 0.82, n: 40 } },
        },
      ]);

      // the same files again: nothing to do
      const twice = await lexiconWithEnv(env, 'import', '--format', 'neuronpedia', exported.dir, '--sae', `${modelSlug}/${original.slug}`);
      expect(twice.stdout, twice.stderr).toContain('already imported from these files');
    } finally {
      await freshPool.end();
      await fresh.stop();
    }
  }, 300_000);

  it('checks given decoder vectors against the SAE’s own rows, reports those that differ, and stores none', async () => {
    const exported = await EXPORT_FORMATS.neuronpedia.run(getDb(), { sae: `${modelSlug}/${original.slug}`, dir: path.join(tmp, 'vectors') });
    const weights = (await readSaeWeights(copy))!;
    const own = (index: number) => Array.from(weights.decoder.subarray(index * weights.width, (index + 1) * weights.width));
    const file = path.join(exported.dir, 'features', 'batch-0.jsonl.gz');
    const lines = gunzipSync(await fs.readFile(file)).toString().trim().split('\n').map((l) => JSON.parse(l));
    // the SAE's rows, but feature 2's turned around and feature 9's scaled: the export of another SAE, in part
    const given = lines.map((f) => {
      const index = Number(f.index);
      const row = own(index);
      return { ...f, hasVector: true, vector: index === 2 ? row.map((v) => -v) : index === 9 ? row.map((v) => 1.5 * v) : row };
    });
    await fs.writeFile(file, gzipSync(given.map((f) => JSON.stringify(f)).join('\n') + '\n'));

    const outcome = await IMPORT_FORMATS.neuronpedia.run(getDb(), { location: exported.dir, sae: `${modelSlug}/${copy.slug}`, weights: readSaeWeights });
    if (outcome.unchanged) throw new Error('unreachable');
    expect(outcome.vectors).toEqual({ stored: 0, checked: original.dSae, mismatched: 2, firstMismatches: [2, 9] });
    expect(await storedDecoder(getDb(), copy)).toBeNull();
    const { rows } = await getDb().execute(sql`select count(*)::int as n from sae_decoder_row where sae_id = ${copy.id}`);
    expect(rows[0]).toEqual({ n: 0 });
  });
  it('writes a person’s proposal and the proposal votes made the label with their authors; importing them leaves a person’s label alone', async () => {
    const [cleo, dan] = await Promise.all([
      signUp({ name: 'Cleo', email: 'cleo@example.org', password: 'correct horse' }),
      signUp({ name: 'Dan', email: 'dan@example.org', password: 'correct horse' }),
    ]);
    const feature = { saeId: original.id, index: 5 };
    await labelFeatures(getDb(), original.id, [{ index: 5, label: 'dialogue', body: 'Fires inside quotes.' }], ada.id);
    const rival = await proposeLabel(getDb(), feature, 'quoted speech', cleo.id);
    await voteLabel(getDb(), feature, rival.id, cleo.id);
    expect(await voteLabel(getDb(), feature, rival.id, dan.id)).toMatchObject({ labelChanged: 'quoted speech' });
    // the copy's feature 5 has a label a person wrote
    await labelFeatures(getDb(), copy.id, [{ index: 5, label: 'written by Ada' }], ada.id);

    const exported = await EXPORT_FORMATS.neuronpedia.run(getDb(), { sae: `${modelSlug}/${original.slug}`, dir: path.join(tmp, 'votes') });
    const lines = (await filesUnder(exported.dir))['explanations/batch-0.jsonl.gz']!.trim().split('\n').map((l) => JSON.parse(l));
    const standing = await labelStanding(getDb(), original.id, 5, null);
    const idOf = (label: string) => standing.proposals.find((p) => p.label === label)!.id;
    const ids = { modelId: modelSlug, layer: original.slug };
    // each text once: the winner as the label, with its author and the description; Ada's former label as her proposal
    expect(lines.filter((l) => l.index === '5')).toEqual([
      { id: idOf('dialogue'), ...ids, index: '5', description: 'dialogue', authorId: 'Ada', typeName: 'lexicon-proposal', explanationModelName: null, notes: null },
      { id: idOf('quoted speech'), ...ids, index: '5', description: 'quoted speech', authorId: 'Cleo', typeName: 'lexicon-label', explanationModelName: null, notes: 'Fires inside quotes.' },
    ]);

    const outcome = await IMPORT_FORMATS.neuronpedia.run(getDb(), { location: exported.dir, sae: `${modelSlug}/${copy.slug}`, weights: readSaeWeights });
    // features 1 and 2's explanations came into the copy with an earlier export
    expect(outcome).toMatchObject({ unchanged: false, explanations: 2, explanationsKept: lines.length - 2 });
    const imported = await labelStanding(getDb(), copy.id, 5, null);
    expect(imported.label).toBe('written by Ada');
    const [shown, ...others] = imported.proposals.map((p) => [p.label, p.votes, p.provenance?.by ?? p.author?.name, p.provenance?.type]);
    expect(shown).toEqual(['written by Ada', 1, 'Ada', undefined]);
    expect(others.sort()).toEqual([
      ['dialogue', 0, 'Neuronpedia (Ada)', 'lexicon-proposal'],
      ['quoted speech', 0, 'Neuronpedia (Cleo)', 'lexicon-label'],
    ]);
    const again = await IMPORT_FORMATS.neuronpedia.run(getDb(), { location: exported.dir, sae: `${modelSlug}/${copy.slug}`, weights: readSaeWeights });
    expect(again).toMatchObject({ unchanged: true });
    expect(await labelStanding(getDb(), copy.id, 5, null)).toEqual(imported);
  });
});
