/**
 * Importing Neuronpedia exports and SAEDashboard output into a synthetic SAE, against a real PostgreSQL, with files
 * the tests write in those layouts: the mapping of features, examples and explanations, the no-op re-import, an
 * interrupted import leaving nothing, decoder vectors stored for SAEs without files (and their similar features), and
 * bad input refused with the file and line named and the previous data intact.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRuns, similarFeatures } from '@/drizzle/schema';
import { initBackend } from '@/compute/backend';
import { currentRunCounts } from '@/server/dashboards';
import { getDb, getPool } from '@/server/db';
import { EXPORT_FORMATS, IMPORT_FORMATS } from '@/server/exchange';
import { tokensToBytes } from '@/server/context-tokens';
import { featureCards, SNIPPET_RADIUS } from '@/server/feature-cards';
import { featurePreview } from '@/server/feature-links';
import { getFeaturePage } from '@/server/feature-page';
import { labelStanding } from '@/server/label-votes';
import { storedDecoder } from '@/server/sae-decoder';
import type { SaeRow } from '@/server/saes';
import { PADDING_PIECE } from '@/server/token-piece';
import { signUp, type UserRow } from '@/server/users';
import { findSae } from '@/server/visibility';
import { storeDecoderNeighbours } from '@/worker/jobs/similar-features';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { syntheticFeature, writeNeuronpediaExport, writeSaeDashboardOutput, type SyntheticExport } from '../helpers/neuronpedia-export';
import { countRows, labelFeatures, seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let person: UserRow;
let tmp: string;
const D_SAE = 48;
const N_FEATURES = 40;

beforeAll(async () => {
  database = await startTestDatabase();
  person = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  model = await seedSyntheticModel(getDb(), {
    slug: 'gpt2-syn',
    saes: [
      { slug: 'res8', hookName: 'blocks.8.hook_resid_pre', dSae: D_SAE },
      { slug: 'mlp8', hookName: 'blocks.8.hook_mlp_out', dSae: D_SAE },
    ],
  });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-np-'));
}, 120_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
  await fs.rm(tmp, { recursive: true, force: true });
});

const neuronpedia = IMPORT_FORMATS.neuronpedia.run;
const sae = () => model.saes[0]!;
const exportOf = (name: string, extra: Partial<SyntheticExport> = {}) =>
  writeNeuronpediaExport(path.join(tmp, name), { modelId: 'gpt2-syn', sourceId: '8-res-jb', vocab: model.vocab, nFeatures: N_FEATURES, ...extra });

/** What must not change when an import fails: the current run, its rows, the runs, corpora and proposals. */
async function snapshot() {
  const counts = await currentRunCounts(getDb(), sae().id);
  return { counts, runs: await countRows(getDb(), 'dashboard_run'), corpora: await countRows(getDb(), 'corpus'), proposals: await countRows(getDb(), 'label_proposal') };
}

describe('Neuronpedia export import', () => {
  it('maps features, examples and explanations into a new current run of the SAE the source names, leaving a person’s label alone', async () => {
    await labelFeatures(getDb(), sae().id, [{ index: 3, label: 'written by a person' }], person.id);
    const { dir, options } = await exportOf('first');
    const outcome = await neuronpedia(getDb(), { location: dir });
    expect(outcome).toMatchObject({ unchanged: false, model: 'gpt2-syn', sae: 'res8', features: N_FEATURES, examples: N_FEATURES * 7, explanations: N_FEATURES, unmatchedTokens: 0 });
    if (outcome.unchanged) throw new Error('unreachable');

    const counts = await currentRunCounts(getDb(), sae().id);
    expect(counts).toEqual({ runId: outcome.runId, features: N_FEATURES, examples: N_FEATURES * 7 });
    const run = await getDb().query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, outcome.runId) });
    expect(run).toMatchObject({ status: 'complete', nTokens: 8000, source: { kind: 'neuronpedia', path: dir, modelId: 'gpt2-syn', sourceId: '8-res-jb', nTokensStated: 8000 } });

    const expected = syntheticFeature(options, 5);
    const page = (await getFeaturePage(getDb(), 'gpt2-syn', 'res8', 5))!;
    expect(page.run?.source).toMatchObject({ kind: 'neuronpedia', nTokensStated: 8000 });
    expect(page.stats).toMatchObject({ density: expected.feature.frac_nonzero, nTokens: 8000, nonzeroCount: Math.round(expected.feature.frac_nonzero * 8000) });
    expect(page.stats!.maxAct).toBeCloseTo(expected.feature.maxActApprox, 5);
    // bar centres 0.25, 0.75, 1.25 × max: edges from 0 in steps of max / 2
    page.stats!.histogram.edges.forEach((edge, i) => expect(edge).toBeCloseTo((i * expected.feature.maxActApprox) / 2, 5));
    expect(page.stats!.histogram.counts).toEqual([30, 20, 10]);
    expect(page.stats!.logitTop.map((w) => page.pieces[w.id])).toEqual(expected.feature.pos_str);
    // top examples by maximum; intervals from the lowest, each with its share of the non-zero activations
    expect(page.top.map((e) => e.tokens.map((id) => page.pieces[id]))).toEqual(expected.activations.slice(0, 3).map((a) => a.tokens));
    expect(page.top.map((e) => e.maxPos)).toEqual(expected.activations.slice(0, 3).map((a) => a.maxValueTokenIndex));
    expect(page.intervals.map((i) => [i.lo, i.count])).toEqual([
      [expected.activations[3]!.binMin, Math.round(0.25 * page.stats!.nonzeroCount)],
      [expected.activations[5]!.binMin, Math.round(0.25 * page.stats!.nonzeroCount)],
    ]);
    expect(page.intervals[0]!.examples.map((e) => e.position)).toEqual([expected.activations[3]!.qualifyingTokenIndex, expected.activations[4]!.qualifyingTokenIndex]);
    page.intervals[0]!.examples[0]!.acts.forEach((v, i) => expect(v).toBeCloseTo(expected.activations[3]!.values[i]!, 4));

    const standing = await labelStanding(getDb(), sae().id, 3, null);
    expect(standing.label).toBe('written by a person');
    const imported = standing.proposals.find((p) => p.provenance);
    expect(imported).toMatchObject({
      label: syntheticFeature(options, 3).explanation.description,
      votes: 0,
      shown: false,
      provenance: { by: 'Neuronpedia (gpt-4o-mini)', source: 'import', model: 'gpt-4o-mini', type: 'oai_token-act-pair', from: dir },
    });
    // the explanation line kept for exports stays off the pages that show the proposals
    expect(imported!.provenance).not.toHaveProperty('explanation');
  });

  it('keeps each feature’s examples whole when its activations span two of the parsing threads’ batches', async () => {
    // 60 activation lines a feature in one file: batches of 1000 lines end inside features 16 and 33
    const shape = { seed: 12, nFeatures: D_SAE, featuresPerBatch: D_SAE, topExamples: 20, intervals: 4, perInterval: 10, explanations: false };
    const { dir, options } = await exportOf('spanning', shape);
    const outcome = await neuronpedia(getDb(), { location: dir, sae: 'gpt2-syn/mlp8' });
    expect(outcome).toMatchObject({ unchanged: false, features: D_SAE, examples: D_SAE * 60 });
    for (let index = 0; index < D_SAE; index++) {
      const expected = syntheticFeature(options, index).activations;
      const page = (await getFeaturePage(getDb(), 'gpt2-syn', 'mlp8', index))!;
      // each example whole: its tokens and peak (the intervals' in any order), and its peak value as the page rounds it
      const whole = (e: { tokens: number[]; maxPos: number }) => `${e.tokens.map((id) => page.pieces[id]).join('|')} ${e.maxPos}`;
      const given = expected.map((a) => `${a.tokens.join('|')} ${a.maxValueTokenIndex}`);
      expect(page.top.map(whole)).toEqual(given.slice(0, 20));
      expect(page.intervals.flatMap((i) => i.examples.map(whole)).sort()).toEqual(given.slice(20).sort());
      page.top.forEach((e, rank) => expect(e.acts[e.maxPos]).toBeCloseTo(expected[rank]!.maxValue, 3));
    }
  });

  it('does nothing when the same files are imported again', async () => {
    const { dir } = await exportOf('first');
    const before = await snapshot();
    const outcome = await neuronpedia(getDb(), { location: dir });
    expect(outcome).toEqual({ unchanged: true, model: 'gpt2-syn', sae: 'res8', runId: before.counts.runId });
    expect(await snapshot()).toEqual(before);
  });

  it('leaves nothing behind when interrupted, and a re-run imports everything', async () => {
    const { dir } = await exportOf('interrupted', { seed: 8 });
    const before = await snapshot();
    await expect(
      neuronpedia(getDb(), {
        location: dir,
        onProgress: ({ phase }) => {
          if (phase === 'finishing') throw new Error('worker stopped');
        },
      }),
    ).rejects.toThrow('worker stopped');
    expect(await snapshot()).toEqual(before);
    const outcome = await neuronpedia(getDb(), { location: dir });
    expect(outcome).toMatchObject({ unchanged: false, features: N_FEATURES });
    expect((await currentRunCounts(getDb(), sae().id)).features).toBe(N_FEATURES);
  });

  it('keeps the previous dashboards for readers until the import commits', async () => {
    const { dir } = await exportOf('readers', { seed: 10 });
    const before = await snapshot();
    const seen: { phase: string; counts: Awaited<ReturnType<typeof snapshot>> }[] = [];
    const outcome = await neuronpedia(getDb(), {
      location: dir,
      // other connections of the pool, as the pages read, while the import's transaction holds every row written
      onProgress: async ({ phase }) => {
        if (phase === 'explanations' || phase === 'finishing') seen.push({ phase, counts: await snapshot() });
      },
    });
    if (outcome.unchanged) throw new Error('unreachable');
    expect(seen.map((s) => s.phase)).toEqual(['explanations', 'explanations', 'explanations', 'finishing']);
    for (const { counts } of seen) expect(counts).toEqual(before);
    expect((await currentRunCounts(getDb(), sae().id)).runId).toBe(outcome.runId);
  });

  it('goes into the SAE --sae names, and keeps token strings the vocabulary lacks as the run’s own pieces', async () => {
    const { dir, options } = await exportOf('other', { seed: 9, explanations: false });
    // feature 0's first top example carries a token no piece of the model spells
    const file = path.join(dir, 'activations', 'batch-0.jsonl.gz');
    const lines = (await import('node:zlib')).gunzipSync(await fs.readFile(file)).toString().trim().split('\n');
    const first = JSON.parse(lines[0]!);
    first.tokens[2] = '<|outofrange|>';
    lines[0] = JSON.stringify(first);
    await fs.writeFile(file, gzipSync(lines.join('\n') + '\n'));

    const outcome = await neuronpedia(getDb(), { location: dir, sae: 'gpt2-syn/mlp8' });
    expect(outcome).toMatchObject({ sae: 'mlp8', unmatchedTokens: 1 });
    const page = (await getFeaturePage(getDb(), 'gpt2-syn', 'mlp8', 0))!;
    expect(page.top[0]!.tokens[2]).toBe(-1);
    expect(page.top[0]!.tokens.map((id) => page.pieces[id])).toEqual(first.tokens);
    expect(page.top[1]!.tokens.map((id) => page.pieces[id])).toEqual(syntheticFeature(options, 0).activations[1]!.tokens);

    // Cards and link previews show the run's own piece too, and an id below 0 it has no piece for (padding some
    // exports write) as padding: beside the peak of the top example, which is the token it peaks on.
    const peak = page.top[0]!;
    const padded = peak.tokens.map((id, t) => (t === peak.maxPos ? -1 : t === peak.maxPos + 1 ? -9 : id));
    await getDb().execute(sql`update corpus_context set tokens = ${tokensToBytes(padded)}
                               where corpus_id = ${page.run!.corpusId} and index = ${peak.contextIndex}`);
    await getDb().execute(sql`update feature_example set max_token = -1 where run_id = ${outcome.runId} and feature_index = 0 and kind = 'top' and rank = 0`);
    const shown = padded.map((id) => (id === -1 ? '<|outofrange|>' : id === -9 ? PADDING_PIECE : model.vocab[id]!));
    const repadded = (await getFeaturePage(getDb(), 'gpt2-syn', 'mlp8', 0))!;
    expect(repadded.top[0]!.tokens.map((id) => repadded.pieces[id])).toEqual(shown);
    const [card] = await featureCards(getDb(), (await findSae(getDb(), 'gpt2-syn', 'mlp8'))!, [0]);
    expect(card!.topTokens[0]!.piece).toBe('<|outofrange|>');
    const from = Math.max(0, peak.maxPos - SNIPPET_RADIUS);
    expect(card!.snippet!.pieces).toEqual(shown.slice(from, peak.maxPos + SNIPPET_RADIUS + 1));
    const preview = await featurePreview(getDb(), { id: person.id, role: person.role }, { model: 'gpt2-syn', sae: 'mlp8', index: 0 });
    expect(preview.snippet!.pieces[preview.snippet!.peak]).toBe('<|outofrange|>');
    expect(preview.snippet!.pieces[preview.snippet!.peak + 1]).toBe(PADDING_PIECE);
  });
});

describe('bad input', () => {
  /** Writes an export, spoils it, and expects the import to fail with `message` and to change nothing. */
  async function refused(name: string, spoil: (dir: string) => Promise<void>, message: RegExp, extra: Partial<SyntheticExport> = {}) {
    const { dir } = await exportOf(name, { seed: 20 + name.length, ...extra });
    await spoil(dir);
    const before = await snapshot();
    await expect(neuronpedia(getDb(), { location: dir })).rejects.toThrow(message);
    expect(await snapshot()).toEqual(before);
  }
  const rewrite = async (file: string, edit: (lines: string[]) => string[]) => {
    const lines = (await import('node:zlib')).gunzipSync(await fs.readFile(file)).toString().trim().split('\n');
    await fs.writeFile(file, gzipSync(edit(lines).join('\n') + '\n'));
  };
  /** Changes the JSON object on line `line` (1-based) of a gzipped batch file (an activation's or a feature's). */
  const editLine = (file: string, line: number, edit: (o: { values: number[]; vector: number[]; qualifyingTokenIndex: number | null }) => void) =>
    rewrite(file, (lines) => {
      const o = JSON.parse(lines[line - 1]!);
      edit(o);
      return [...lines.slice(0, line - 1), JSON.stringify(o), ...lines.slice(line)];
    });

  it('a truncated gzip file', async () => {
    await refused(
      'truncated',
      async (dir) => {
        const file = path.join(dir, 'activations', 'batch-1.jsonl.gz');
        const bytes = await fs.readFile(file);
        await fs.writeFile(file, bytes.subarray(0, bytes.length - 40));
      },
      /activations\/batch-1\.jsonl\.gz: the gzip stream is truncated or corrupt after line \d+/,
    );
  });

  it('a line that is not JSON', async () => {
    await refused(
      'not-json',
      (dir) => rewrite(path.join(dir, 'features', 'batch-0.jsonl.gz'), (lines) => [...lines.slice(0, 4), '{"index": "4", oops', ...lines.slice(5)]),
      /features\/batch-0\.jsonl\.gz line 5: not JSON/,
    );
  });

  it('a feature index out of range', async () => {
    await refused(
      'out-of-range',
      (dir) => rewrite(path.join(dir, 'features', 'batch-1.jsonl.gz'), (lines) => [...lines.slice(0, 2), lines[2]!.replace('"index":"18"', `"index":"${D_SAE}"`), ...lines.slice(3)]),
      new RegExp(`features/batch-1\\.jsonl\\.gz line 3: feature index ${D_SAE} is out of range: the SAE has ${D_SAE} features`),
    );
  });

  it('a feature index out of range in the activations or the explanations', async () => {
    await refused(
      'activation-range',
      (dir) => editLine(path.join(dir, 'activations', 'batch-1.jsonl.gz'), 3, (a) => Object.assign(a, { index: String(D_SAE + 2) })),
      new RegExp(`activations/batch-1\\.jsonl\\.gz line 3: feature index ${D_SAE + 2} is out of range: the SAE has ${D_SAE} features \\(0–${D_SAE - 1}\\)`),
    );
    await refused(
      'explanation-range',
      (dir) => editLine(path.join(dir, 'explanations', 'batch-2.jsonl.gz'), 4, (e) => Object.assign(e, { index: String(D_SAE + 5) })),
      new RegExp(`explanations/batch-2\\.jsonl\\.gz line 4: feature index ${D_SAE + 5} is out of range`),
    );
  });

  it('SAEDashboard output: a batch file that is not JSON, an activation whose tokens and values differ, a layer that names no SAE', async () => {
    const refusedOutput = async (name: string, spoil: (dir: string) => Promise<void>, message: RegExp, layer = 8) => {
      const dir = path.join(tmp, name);
      await writeSaeDashboardOutput(dir, { modelId: 'gpt2-syn', layer, saeSet: 'res-jb', vocab: model.vocab, nFeatures: 20, seed: 50 + name.length });
      await spoil(dir);
      const before = await snapshot();
      await expect(IMPORT_FORMATS.saedashboard.run(getDb(), { location: dir })).rejects.toThrow(message);
      expect(await snapshot()).toEqual(before);
    };
    await refusedOutput('sd-not-json', (dir) => fs.appendFile(path.join(dir, 'batch-1.json'), ','), /batch-1\.json: not JSON/);
    await refusedOutput(
      'sd-lengths',
      async (dir) => {
        const file = path.join(dir, 'batch-0.json');
        const batch = JSON.parse(await fs.readFile(file, 'utf8'));
        batch.features[3].activations[2].tokens.push('extra');
        await fs.writeFile(file, JSON.stringify(batch));
      },
      /batch-0\.json features\[3\]\.activations\[2\]: feature 3's activation has 9 tokens but 8 values/,
    );
    await refusedOutput('sd-no-sae', async () => undefined, /the export's source "5-res-jb" of model "gpt2-syn" names no SAE registered in Lexicon/, 5);
  });

  it('a source that names no SAE', async () => {
    const { dir } = await writeNeuronpediaExport(path.join(tmp, 'no-sae'), { modelId: 'gpt2-syn', sourceId: '5-res-jb', vocab: model.vocab, nFeatures: 4 });
    const before = await snapshot();
    await expect(neuronpedia(getDb(), { location: dir })).rejects.toThrow(
      /the export's source "5-res-jb" of model "gpt2-syn" names no SAE registered in Lexicon \(the model's SAEs: mlp8 \(blocks\.8\.hook_mlp_out\), res8 \(blocks\.8\.hook_resid_pre\)\); give the target SAE with --sae MODEL\/SAE/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('an activation whose tokens and values differ in length', async () => {
    await refused(
      'lengths',
      (dir) => editLine(path.join(dir, 'activations', 'batch-0.jsonl.gz'), 10, (a) => a.values.pop()),
      /activations\/batch-0\.jsonl\.gz line 10: feature 1's activation has 8 tokens but 7 values/,
    );
  });

  it('activations of a feature the features files have no row for', async () => {
    await refused(
      'orphans',
      // feature 1's row is the features file's second line
      (dir) => rewrite(path.join(dir, 'features', 'batch-0.jsonl.gz'), (lines) => [lines[0]!, ...lines.slice(2)]),
      /activations are given for feature\(s\) 1 that the features files have no row for/,
    );
  });

  it('a decoder vector of the wrong length', async () => {
    await refused(
      'vector-length',
      (dir) => editLine(path.join(dir, 'features', 'batch-0.jsonl.gz'), 3, (f) => f.vector.pop()),
      /features\/batch-0\.jsonl\.gz line 3: feature 2's vector has 31 values but the SAE's decoder rows have 32/,
      { vectorWidth: 32 },
    );
    expect(await countRows(getDb(), 'sae_decoder_row')).toBe(0);
  });

  it('an interval activation whose drawn token is no whole number', async () => {
    await refused(
      'fractional-position',
      // feature 1's lines are 8–14: three top examples, then its intervals'
      (dir) => editLine(path.join(dir, 'activations', 'batch-0.jsonl.gz'), 12, (a) => (a.qualifyingTokenIndex = 2.5)),
      /activations\/batch-0\.jsonl\.gz line 12: qualifyingTokenIndex 2\.5 is not a whole number/,
    );
  });
});

describe('decoder vectors', () => {
  let vec: SyntheticModel;
  const W = 32;
  const storeNeighbours = async (s: SaeRow) => {
    await storeDecoderNeighbours(getDb(), s);
  };
  const decoderRow = (values: Float32Array, index: number) => Array.from(values.subarray(index * W, (index + 1) * W));
  const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
  const neighboursOf = async (saeId: string, otherSaeId: string, index: number) =>
    (
      await getDb()
        .select({ index: similarFeatures.otherIndex, cosine: similarFeatures.cosine })
        .from(similarFeatures)
        .where(and(eq(similarFeatures.saeId, saeId), eq(similarFeatures.otherSaeId, otherSaeId), eq(similarFeatures.index, index), eq(similarFeatures.kind, 'decoder')))
        .orderBy(similarFeatures.rank)
    ).map((n) => n.index);

  beforeAll(async () => {
    await initBackend();
    // SAEs without files (their paths name nothing), as an SAE registered for an import of its dashboards alone
    vec = await seedSyntheticModel(getDb(), {
      slug: 'gpt2-vec',
      saes: [
        { slug: 'res4', hookName: 'blocks.4.hook_resid_pre', dSae: D_SAE },
        { slug: 'res4-again', hookName: 'blocks.4.hook_resid_post', dSae: D_SAE },
      ],
    });
  });

  it('become the decoder rows of an SAE without files, its similar features come from them, and export → import gives the same rows', async () => {
    const [res4, again] = vec.saes as [SyntheticModel['saes'][number], SyntheticModel['saes'][number]];
    const { dir, options } = await writeNeuronpediaExport(path.join(tmp, 'vectors'), { modelId: 'gpt2-vec', sourceId: 'res4', vocab: vec.vocab, nFeatures: D_SAE, vectorWidth: W });
    const outcome = await neuronpedia(getDb(), { location: dir, onDecoderStored: storeNeighbours });
    if (outcome.unchanged) throw new Error('unreachable');
    expect(outcome.vectors).toEqual({ stored: D_SAE, checked: 0, mismatched: 0, firstMismatches: [] });

    const vectors = Array.from({ length: D_SAE }, (_, i) => syntheticFeature(options, i).feature.vector!);
    const stored = (await storedDecoder(getDb(), { id: res4.id, dSae: D_SAE }))!;
    expect(stored.width).toBe(W);
    vectors.forEach((v, i) => expect(decoderRow(stored.values, i), `feature ${i}`).toEqual(v));
    const page = (await getFeaturePage(getDb(), 'gpt2-vec', 'res4', 5))!;
    expect(page.stats!.decoderNorm).toBeCloseTo(Math.hypot(...vectors[5]!), 5);

    // the nearest decoder rows, as the cosines of the given vectors rank them
    const nearest = (i: number) =>
      vectors
        .map((v, j) => ({ j, c: j === i ? -Infinity : cosine(vectors[i]!, v) }))
        .sort((a, b) => b.c - a.c)
        .slice(0, 3)
        .map((n) => n.j);
    for (const i of [0, 5, 47]) expect((await neighboursOf(res4.id, res4.id, i)).slice(0, 3), `feature ${i}`).toEqual(nearest(i));
    // the other SAE has neither files nor rows: left out, not a failure
    expect(await neighboursOf(res4.id, again.id, 0)).toEqual([]);

    const out = path.join(tmp, 'vectors-out');
    const exported = await EXPORT_FORMATS.neuronpedia.run(getDb(), { sae: 'gpt2-vec/res4', dir: out });
    expect(exported.vectors).toMatchObject({ written: D_SAE, from: 'stored' });
    const written = gunzipSync(await fs.readFile(path.join(exported.dir, 'features', 'batch-0.jsonl.gz'))).toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(written[7]).toMatchObject({ index: '7', hasVector: true });
    // written with the digits that read back to the same float32s
    expect(written[7].vector.map(Math.fround)).toEqual(vectors[7]);

    const back = await neuronpedia(getDb(), { location: exported.dir, sae: 'gpt2-vec/res4-again', onDecoderStored: storeNeighbours });
    if (back.unchanged) throw new Error('unreachable');
    expect(back.vectors.stored).toBe(D_SAE);
    const rowsOf = async (saeId: string) =>
      (
        await getDb().execute(sql`
          select f.index, f.density, f.max_act, f.histogram, f.logit_top, f.logit_bottom, f.decoder_norm, d.vector
            from feature f join sae s on f.run_id = s.current_run_id left join sae_decoder_row d on d.sae_id = s.id and d.index = f.index
           where s.id = ${saeId} order by f.index`)
      ).rows;
    expect(await rowsOf(again.id)).toEqual(await rowsOf(res4.id));
    // now both have decoders: each one's features have neighbours in the other
    expect(await neighboursOf(again.id, res4.id, 5)).toHaveLength(10);
    expect((await neighboursOf(again.id, res4.id, 5))[0]).toBe(5);
  });

  it('of a transcoder are d_out wide, the width of its output hook, not d_in', async () => {
    const D_OUT = 48;
    const tc = await seedSyntheticModel(getDb(), {
      slug: 'gpt2-tc',
      saes: [{ slug: 'tc8', hookName: 'blocks.8.ln2.hook_normalized', dSae: D_SAE, cfg: { architecture: 'transcoder', d_out: D_OUT, hook_name_out: 'blocks.8.hook_mlp_out', apply_b_dec_to_input: false } }],
    });
    const exportOfWidth = (width: number) =>
      writeNeuronpediaExport(path.join(tmp, `transcoder-${width}`), { modelId: 'gpt2-tc', sourceId: 'tc8', vocab: tc.vocab, nFeatures: D_SAE, vectorWidth: width });
    // rows d_in (32) wide are no rows of this decoder
    await expect(neuronpedia(getDb(), { location: (await exportOfWidth(32)).dir })).rejects.toThrow(
      /features\/batch-0\.jsonl\.gz line 1: feature 0's vector has 32 values but the SAE's decoder rows have 48/,
    );
    const { dir, options } = await exportOfWidth(D_OUT);
    const outcome = await neuronpedia(getDb(), { location: dir });
    if (outcome.unchanged) throw new Error('unreachable');
    expect(outcome.vectors).toEqual({ stored: D_SAE, checked: 0, mismatched: 0, firstMismatches: [] });
    const stored = (await storedDecoder(getDb(), { id: tc.saes[0]!.id, dSae: D_SAE }))!;
    expect(stored.width).toBe(D_OUT);
    expect(Array.from(stored.values.subarray(3 * D_OUT, 4 * D_OUT))).toEqual(syntheticFeature(options, 3).feature.vector);
  });
});

describe('SAEDashboard output import', () => {
  it('maps the runner’s batch files like an export', async () => {
    const dir = path.join(tmp, 'saedashboard');
    const { options } = await writeSaeDashboardOutput(dir, { modelId: 'gpt2-syn', layer: 8, saeSet: 'res-jb', vocab: model.vocab, nFeatures: 20, seed: 30 });
    const proposals = await countRows(getDb(), 'label_proposal');
    const outcome = await IMPORT_FORMATS.saedashboard.run(getDb(), { location: dir });
    expect(outcome).toMatchObject({ unchanged: false, sae: 'res8', features: 20, examples: 140, explanations: 0 });
    expect(await countRows(getDb(), 'label_proposal')).toBe(proposals);
    const expected = syntheticFeature(options, 7);
    const page = (await getFeaturePage(getDb(), 'gpt2-syn', 'res8', 7))!;
    expect(page.run?.source).toMatchObject({ kind: 'saedashboard', modelId: 'gpt2-syn', sourceId: '8-res-jb', nTokensStated: 8000 });
    expect(page.stats).toMatchObject({ density: expected.feature.frac_nonzero, nTokens: 8000 });
    // without maxActApprox the largest example activation stands for the maximum
    expect(page.stats!.maxAct).toBeCloseTo(expected.activations[0]!.maxValue, 5);
    expect(page.top.map((e) => e.tokens.map((id) => page.pieces[id]))).toEqual(expected.activations.slice(0, 3).map((a) => a.tokens));
    expect(page.intervals.map((i) => i.examples.length)).toEqual([2, 2]);
  });
});

describe('the command line', () => {
  const lexicon = (...args: string[]) =>
    promisify(execFile)(process.execPath, [path.resolve('bin/lexicon.mjs'), ...args], { env: { ...process.env, DATABASE_URL: database.url } }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  it('imports, says when there is nothing to do, exports, and names the formats it knows', async () => {
    const { dir, options } = await exportOf('cli', { seed: 40, nFeatures: 8 });
    const first = await lexicon('import', '--format', 'neuronpedia', dir, '--sae', 'gpt2-syn/mlp8');
    expect(first.stdout).toMatch(/^gpt2-syn\/mlp8: run [0-9a-f-]{36} is current: 8 features, 56 examples, 8 explanations proposed as labels \(0 already proposed\), 0 example tokens not in the model's vocabulary, in [\d.]+ s$/m);
    expect(first.stderr).toContain('the weight statistics of mlp8 stay 0: its files at /nonexistent/mlp8 cannot be read');
    const again = await lexicon('import', '--format', 'neuronpedia', dir, '--sae', 'gpt2-syn/mlp8');
    expect(again.stdout).toMatch(/^gpt2-syn\/mlp8: already imported from these files \(run [0-9a-f-]{36}\); nothing to do$/m);

    const out = path.join(tmp, 'cli-out');
    const exported = await lexicon('export', '--sae', 'gpt2-syn/mlp8', '--format', 'neuronpedia', out);
    expect(exported.stdout.trim().split('\n')).toEqual([
      `${path.join(out, 'gpt2-syn', 'mlp8')}: 8 features, 56 examples, 8 explanations (labels and label proposals)`,
      "0 decoder vectors from the rows an import stored (the SAE's weights cannot be read here: /nonexistent/mlp8/cfg.json: not found (an SAELens SAE directory has cfg.json and sae_weights.safetensors))",
    ]);
    // the imported explanations are label proposals, written back as they were given (but for naming this SAE)
    const explanations = gunzipSync(await fs.readFile(path.join(out, 'gpt2-syn', 'mlp8', 'explanations', 'batch-0.jsonl.gz'))).toString();
    expect(explanations).toBe(Array.from({ length: 8 }, (_, i) => JSON.stringify({ ...syntheticFeature(options, i).explanation, layer: 'mlp8' }) + '\n').join(''));
    expect((await fs.readdir(path.join(out, 'gpt2-syn', 'mlp8', 'activations'))).sort()).toEqual(['batch-0.jsonl.gz']);

    const unknown = await lexicon('import', '--format', 'csv', dir);
    expect('code' in unknown && unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--format must be lexicon or neuronpedia or saedashboard, got "csv"');
  });
});
