/**
 * The Neuronpedia export layout (docs.neuronpedia.org "Exports"; docs/formats.md#neuronpedia-exports): a source folder
 * `<modelId>/<sourceId>/` with `features/`, `activations/` and `explanations/` (or `explanations-<model>/`) folders of
 * `batch-N.jsonl.gz` files, one JSON object a line, and `source.jsonl` / `model.jsonl` rows. Imported into a new
 * dashboard run of an SAE (./neuronpedia-store.ts), and written back from an SAE's current run.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sql } from 'drizzle-orm';
import type { DashboardRunSource } from '@/drizzle/schema';
import { InputError } from '@/compute/errors';
import type { DecoderRows } from '@/compute/sae/load';
import type { Histogram, TokenWeight } from '@/compute/dashboards/types';
import { withTransaction, type Db } from '../db';
import type { ExportRequest, ExportSummary, ImportOutcome, ImportRequest } from './index';
import { featureIndex, number, numbers, object, optionalNumber, optionalString, strings, type Fields } from './neuronpedia-fields';
import { explanationLines, parseExplanation } from './neuronpedia-explanations';
import { batchFiles, hashFiles, isUrl, jsonLines, withDownloadedExport, type At } from './neuronpedia-files';
import { parsedActivations } from './activation-threads';
import { ImportRun, type ImportedFeature } from './neuronpedia-store';
import { bytesToTokens } from '../context-tokens';
import { pieceOf } from '../token-piece';
import { currentImport, targetSae } from './target-sae';

const GZ = '.jsonl.gz';
/** Lines between progress reports. */
const PROGRESS_EVERY = 2000;

export async function importNeuronpedia(db: Db, request: ImportRequest): Promise<ImportOutcome> {
  if (!isUrl(request.location)) return importSourceFolder(db, path.resolve(request.location), request.location, request);
  return withDownloadedExport(
    request.location,
    { batches: ['features', 'activations', 'explanations'].map((folder) => ({ folder, suffix: GZ })), singles: ['source.jsonl', 'model.jsonl'] },
    (dir) => importSourceFolder(db, dir, request.location, request),
  );
}

async function importSourceFolder(db: Db, dir: string, shown: string, request: ImportRequest): Promise<ImportOutcome> {
  const featureFiles = await batchFiles(path.join(dir, 'features'), GZ);
  if (featureFiles.length === 0) {
    throw new InputError(`${shown} has no features/batch-N${GZ}: not the source folder (<modelId>/<sourceId>/) of a Neuronpedia export`);
  }
  const activationFiles = await batchFiles(path.join(dir, 'activations'), GZ);
  const explanationFiles = await explanationBatches(dir);
  const meta = await sourceMeta(dir);
  const sourceId = meta.id ?? path.basename(dir);
  const modelId = meta.modelId ?? path.basename(path.dirname(dir));
  const sae = await targetSae(db, request.sae, { modelId, sourceId });
  const inputs = [...featureFiles, ...activationFiles, ...explanationFiles, ...meta.files];
  const inputsHash = await hashFiles(dir, inputs);
  const names = { model: sae.modelSlug, sae: sae.slug };
  const already = await currentImport(db, sae, inputsHash);
  if (already) return { unchanged: true, ...names, runId: already };
  const weights = (await request.weights?.(sae)) ?? null;
  const summary = await withTransaction(async (tx, client) => {
    const run = await ImportRun.begin(tx, client, sae, { kind: 'neuronpedia', path: shown, modelId, sourceId, nTokensStated: meta.nTokens, inputsHash }, weights);
    const read = async (phase: 'features' | 'explanations', files: string[], take: (value: unknown, at: At) => Promise<void>) => {
      let done = 0;
      for (const [filesDone, file] of files.entries()) {
        await request.onProgress?.({ phase, done, files: files.length, filesDone, vectors: run.vectorCounts });
        for await (const { value, at } of jsonLines(dir, file)) {
          await take(value, at);
          if (++done % PROGRESS_EVERY === 0) await request.onProgress?.({ phase, done, files: files.length, filesDone, vectors: run.vectorCounts });
        }
      }
    };
    // activations first: a feature's row takes its intervals from its interval examples; parsed in other threads
    let done = 0;
    await request.onProgress?.({ phase: 'activations', done, files: activationFiles.length, filesDone: 0 });
    for await (const { k, batch, release } of parsedActivations(activationFiles, { root: dir, pieces: run.pieces, dSae: run.dSae })) {
      await run.activations(batch, release);
      const crossed = Math.floor((done + batch.count) / PROGRESS_EVERY) > Math.floor(done / PROGRESS_EVERY);
      done += batch.count;
      if (crossed) await request.onProgress?.({ phase: 'activations', done, files: activationFiles.length, filesDone: k });
    }
    await read('features', featureFiles, (value, at) => run.feature(parseFeature(object(value, at), at), at));
    await read('explanations', explanationFiles, (value, at) => run.explanation(parseExplanation(object(value, at), at), at));
    await request.onProgress?.({ phase: 'finishing', done: 0, files: 0, filesDone: 0, vectors: run.vectorCounts });
    return run.finish();
  });
  if (summary.vectors.stored > 0) await request.onDecoderStored?.(sae);
  return { unchanged: false, ...names, ...summary };
}

/** explanations/ and explanations-<model>/ (Neuronpedia keeps each explaining model's in a folder of its own). */
async function explanationBatches(dir: string): Promise<string[]> {
  const folders = (await fs.readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && (e.name === 'explanations' || e.name.startsWith('explanations-')))
    .map((e) => e.name)
    .sort();
  return (await Promise.all(folders.map((f) => batchFiles(path.join(dir, f), GZ)))).flat();
}

/** source.jsonl: the source's id and model, and the prompts its dashboards were computed over. */
async function sourceMeta(dir: string): Promise<{ id: string | null; modelId: string | null; nTokens: number | null; files: string[] }> {
  const file = path.join(dir, 'source.jsonl');
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return { id: null, modelId: null, nTokens: null, files: [] };
  const line = text.split('\n').find((l) => l.trim() !== '');
  const at = { file: 'source.jsonl', line: 1 };
  let o: Fields;
  try {
    o = object(JSON.parse(line ?? ''), at);
  } catch (err) {
    throw err instanceof InputError ? err : new InputError(`source.jsonl line 1: not JSON (${(err as Error).message})`);
  }
  const prompts = optionalNumber(o, 'num_prompts', at);
  const perPrompt = optionalNumber(o, 'num_tokens_in_prompt', at);
  return {
    id: optionalString(o, 'id', at),
    modelId: optionalString(o, 'modelId', at),
    nTokens: prompts !== null && perPrompt !== null ? prompts * perPrompt : null,
    files: [file],
  };
}

function parseFeature(o: Fields, at: At): ImportedFeature {
  return {
    index: featureIndex(o, 'index', at),
    nTokens: null,
    fracNonzero: number(o, 'frac_nonzero', at),
    maxActApprox: optionalNumber(o, 'maxActApprox', at),
    activationHistogram: { values: numbers(o, 'freq_hist_data_bar_values', at), heights: numbers(o, 'freq_hist_data_bar_heights', at) },
    logitHistogram: { values: numbers(o, 'logits_hist_data_bar_values', at), heights: numbers(o, 'logits_hist_data_bar_heights', at) },
    pos: { str: strings(o, 'pos_str', at), values: numbers(o, 'pos_values', at) },
    neg: { str: strings(o, 'neg_str', at), values: numbers(o, 'neg_values', at) },
    vector: numbers(o, 'vector', at),
  };
}

// ---- export ------------------------------------------------------------------------------------------------------

/** Features per batch file. */
const EXPORT_BATCH = 1024;

type RunHead = {
  model_slug: string;
  sae_id: string;
  sae_slug: string;
  run_id: string | null;
  n_tokens: number | null;
  context_size: number;
  source: DashboardRunSource | null;
  pieces: string[] | null;
  path: string;
};

/**
 * Writes the SAE's current run as `<dir>/<model>/<sae>/` in the Neuronpedia layout: features, their top and interval
 * examples as activations, each feature's decoder vector, and the features' labels and label proposals as
 * explanations (./neuronpedia-explanations.ts). Random examples and the weight statistics have no place in the layout
 * and are left out.
 *
 * A vector is the feature's decoder row W_dec[index], as Neuronpedia's `vector` holds it: read from the SAE's own
 * weights a batch of features at a time (as the loader folds them, so an import into an SAE with these files finds
 * them equal), else the row an import stored (sae_decoder_row), else none.
 */
export async function exportNeuronpedia(db: Db, request: ExportRequest): Promise<ExportSummary> {
  const [modelSlug, saeSlug] = request.sae.split('/');
  const { rows } = await db.execute<RunHead>(sql`
    select m.slug as model_slug, s.id as sae_id, s.slug as sae_slug, r.id as run_id, r.n_tokens, c.context_size,
           r.source, v.pieces, s.path
      from sae s join model m on m.id = s.model_id
      left join dashboard_run r on r.id = s.current_run_id
      left join corpus c on c.id = r.corpus_id
      left join model_vocab v on v.model_id = m.id
     where m.slug = ${modelSlug ?? ''} and s.slug = ${saeSlug ?? ''}`);
  const head = rows[0];
  if (!head) throw new InputError(`no SAE "${request.sae}" (MODEL/SAE) is registered`);
  if (!head.run_id) throw new InputError(`${request.sae} has no dashboards to export: compute or import them first`);
  const extra = head.source?.extraPieces ?? [];
  const piece = (id: number) => pieceOf(head.pieces, id, extra);
  const out = path.join(path.resolve(request.dir), head.model_slug, head.sae_slug);
  for (const folder of ['features', 'activations', 'explanations']) await fs.mkdir(path.join(out, folder), { recursive: true });
  const ids = { modelId: head.model_slug, layer: head.sae_slug };
  const nTokens = Number(head.n_tokens ?? 0);
  // prompts × tokens per prompt must give the run's token count back
  const perPrompt = head.context_size > 0 && nTokens % head.context_size === 0 ? head.context_size : 1;
  await fs.writeFile(
    path.join(out, 'source.jsonl'),
    JSON.stringify({ id: head.sae_slug, modelId: head.model_slug, num_prompts: nTokens / perPrompt, num_tokens_in_prompt: perPrompt }) + '\n',
  );
  await fs.writeFile(path.join(out, 'model.jsonl'), JSON.stringify({ id: head.model_slug, displayName: head.model_slug }) + '\n');

  const weights = await decoderRowsOf(head.path);
  const summary: ExportSummary = {
    dir: out,
    features: 0,
    examples: 0,
    explanations: 0,
    vectors: { written: 0, from: 'error' in weights ? 'stored' : 'weights', ...('error' in weights && { unreadable: weights.error }) },
  };
  for (let batch = 0, after = -1; ; batch++) {
    const { rows: feats } = await db.execute<ExportFeature>(sql`
      select f.index, f.n_tokens, f.nonzero_count, f.density, f.max_act, f.histogram, f.intervals, f.logit_top, f.logit_bottom, f.logit_histogram, d.vector
        from feature f left join sae_decoder_row d on d.sae_id = ${head.sae_id} and d.index = f.index
       where f.run_id = ${head.run_id} and f.index > ${after} order by f.index limit ${EXPORT_BATCH}`);
    if (feats.length === 0) break;
    const first = feats[0]!.index;
    after = feats[feats.length - 1]!.index;
    const { rows: examples } = await db.execute<ExportExample>(sql`
      select x.feature_index, x.kind, x.interval, x.rank, x.position, x.max_act, x.max_pos, x.acts, x.loss_delta, cc.tokens
        from feature_example x
        join dashboard_run r on r.id = x.run_id
        join corpus_context cc on cc.corpus_id = r.corpus_id and cc.index = x.context_index
       where x.run_id = ${head.run_id} and x.feature_index between ${first} and ${after} and x.kind in ('top', 'interval')
       order by x.feature_index, x.kind, x.interval desc, x.rank`);
    const explanations = await explanationLines(db, head.sae_id, ids, first, after);
    if (!('error' in weights)) {
      const rows = await weights.read(feats.map((f) => f.index));
      const bytes = (k: number) => Buffer.from(rows.buffer, rows.byteOffset + k * weights.width * 4, weights.width * 4);
      feats.forEach((f, k) => (f.vector = bytes(k)));
    }
    const byIndex = new Map(feats.map((f) => [f.index, f]));
    const intervalNumber = intervalNumbers(examples);
    const name = `batch-${batch}${GZ}`;
    await writeGzLines(path.join(out, 'features', name), feats.map((f) => neuronpediaFeature(f, ids, piece)));
    await writeGzLines(
      path.join(out, 'activations', name),
      examples.map((x) => neuronpediaActivation(x, byIndex.get(x.feature_index)!, intervalNumber(x), ids, piece)),
    );
    await writeGzLines(path.join(out, 'explanations', name), explanations);
    summary.features += feats.length;
    summary.examples += examples.length;
    summary.explanations += explanations.length;
    summary.vectors.written += feats.filter((f) => f.vector !== null).length;
  }
  return summary;
}

/** The SAE's decoder rows from its own files, or why they cannot be read here. */
async function decoderRowsOf(dir: string): Promise<DecoderRows | { error: string }> {
  const { openDecoderRows } = await import('@/compute/sae/load');
  try {
    return await openDecoderRows(dir);
  } catch (err) {
    if (err instanceof InputError) return { error: err.message };
    throw err;
  }
}

type ExportFeature = {
  index: number;
  n_tokens: string;
  nonzero_count: string;
  density: number;
  max_act: number;
  histogram: Histogram;
  intervals: { lo: number; hi: number; count: number }[];
  logit_top: TokenWeight[];
  logit_bottom: TokenWeight[];
  logit_histogram: Histogram;
  /** the decoder row, float32s (stored, or read from the SAE's weights) */
  vector: Buffer | null;
};

type ExportExample = {
  feature_index: number;
  kind: 'top' | 'interval';
  interval: number;
  rank: number;
  position: number | null;
  max_act: number;
  max_pos: number;
  acts: Buffer;
  loss_delta: Buffer | null;
  tokens: Buffer;
};

/** A float32 written with the 9 significant digits that read back to the same float32. */
const f32 = (v: number) => Number(Math.fround(v).toPrecision(9));
/** Little-endian float32s stored as bytea, as numbers that read back to the same float32s. */
const floats = (b: Buffer) => Array.from(new Float32Array(new Uint8Array(b).buffer), f32);

/** Bar centres (as an import was given them, else halfway between the edges) and heights. */
function bars(h: Histogram): { values: number[]; heights: number[] } {
  return { values: h.centres ?? h.counts.map((_, i) => (h.edges[i]! + h.edges[i + 1]!) / 2), heights: h.counts };
}

function neuronpediaFeature(f: ExportFeature, ids: { modelId: string; layer: string }, piece: (id: number) => string) {
  const activation = bars(f.histogram);
  const logits = bars(f.logit_histogram);
  return {
    ...ids,
    index: String(f.index),
    maxActApprox: f32(f.max_act),
    hasVector: f.vector !== null,
    vector: f.vector ? floats(f.vector) : [],
    pos_str: f.logit_top.map((w) => piece(w.id)),
    pos_values: f.logit_top.map((w) => w.value),
    neg_str: f.logit_bottom.map((w) => piece(w.id)),
    neg_values: f.logit_bottom.map((w) => w.value),
    frac_nonzero: f.density,
    freq_hist_data_bar_values: activation.values,
    freq_hist_data_bar_heights: activation.heights,
    logits_hist_data_bar_values: logits.values,
    logits_hist_data_bar_heights: logits.heights,
  };
}

/**
 * Each interval example's interval counted among its feature's intervals that have examples, from the lowest: an
 * import keeps only those, so its export numbers them (in the rows' ids) as the run it came from did.
 */
function intervalNumbers(examples: ExportExample[]): (x: ExportExample) => number {
  const withExamples = new Map<number, number[]>();
  for (const x of examples) {
    if (x.kind !== 'interval') continue;
    const intervals = withExamples.get(x.feature_index) ?? [];
    if (!intervals.includes(x.interval)) intervals.push(x.interval);
    withExamples.set(x.feature_index, intervals);
  }
  for (const intervals of withExamples.values()) intervals.sort((a, b) => a - b);
  return (x) => (x.kind === 'interval' ? withExamples.get(x.feature_index)!.indexOf(x.interval) : x.interval);
}

function neuronpediaActivation(
  x: ExportExample,
  f: ExportFeature,
  /** its interval's number among those with examples (intervalNumbers) */
  number: number,
  ids: { modelId: string; layer: string },
  piece: (id: number) => string,
) {
  const values = floats(x.acts);
  const interval = x.kind === 'interval' ? f.intervals[x.interval] : undefined;
  const nonzero = Number(f.nonzero_count);
  return {
    // Neuronpedia's rows need an id and a creator: unique within the source, and none
    id: `${ids.layer}-${x.feature_index}-${x.kind}-${number}-${x.rank}`,
    ...ids,
    index: String(x.feature_index),
    creatorId: null,
    tokens: bytesToTokens(x.tokens).map(piece),
    values,
    maxValue: f32(x.max_act),
    maxValueTokenIndex: x.max_pos,
    minValue: Math.min(...values),
    lossValues: x.loss_delta ? floats(x.loss_delta) : [],
    // SAEDashboard marks top examples with bin_min = bin_contains = −1
    binMin: interval ? interval.lo : -1,
    binMax: interval ? interval.hi : f32(f.max_act),
    binContains: interval ? (nonzero > 0 ? interval.count / nonzero : 0) : -1,
    qualifyingTokenIndex: x.position,
  };
}

async function writeGzLines(file: string, rows: object[]): Promise<void> {
  await pipeline(
    Readable.from(rows.map((r) => JSON.stringify(r) + '\n')),
    createGzip(),
    createWriteStream(file),
  );
}
