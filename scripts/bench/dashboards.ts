/**
 * `npm run bench:dashboards`: throughput of the dashboard job (issue 4) — computation and storing into a real
 * (embedded) PostgreSQL, through the same code as the job (worker/jobs/dashboards.ts computeAndStoreDashboards).
 * Prints figures; not a test.
 *
 *   npm run bench:dashboards [-- --models stories,gpt2] [--stories-tokens 32768] [--gpt2-tokens 1024] [--batch 16]
 *                               [--gpt2-batch 4] [--feature-chunk N] [--workers 1,2]
 *
 * - stories260K with the fixture SAE (standard, d_sae 256, blocks.2.hook_resid_post; the demo's SAEs are this size)
 *   over a corpus sampled from the model (contexts of 128);
 * - a GPT-2-small-shaped model (12 layers, d 768, vocab 50257, seeded random weights, built through Gpt2Model) with a
 *   24576-feature standard SAE at blocks.6.hook_resid_pre (createSae), over random token contexts of 128.
 * For each: corpus tokens per second (whole job: weights, model, SAE, bookkeeping, database), the share of time in
 * the model, the SAE, the per-feature bookkeeping, the weight statistics and the database, rows stored, and the peak
 * RSS of this process (process.resourceUsage().maxRSS, after the run). The dashboards are computed in feature ranges
 * (as many features as LEXICON_SHARD_MEMORY_MB holds the examples of: a few thousand for GPT-2 small, so a
 * 24576-feature SAE takes several), each range's two passes in shards over PASS_RANGES ranges of the corpus, each
 * running the model up to the hook (or, for a worker's later shards, reusing its hook activations) and encoding, and
 * a shard per range merging them (with the logit weights); the evals are shards of their
 * own over ranges of the corpus (EVAL_RANGES), running the model three times (clean, spliced, zero-ablated), then, with
 * the corpus mean they measured, once more (mean-ablated).
 *
 * `--workers 1,2`: the same job once per count, computed by that many worker processes sharing its shards (feature
 * ranges' passes and merges, and eval ranges): this process runs the job and works on its shards, and W − 1 helper processes (this script with
 * `--helper MODEL`, which build the same seeded model and SAE) claim the others, as idle `npm run worker` processes
 * do (helpWhenIdle: woken by the shards' announcements). tokens/s is then the whole job's, and the speed-up is against
 * one worker. Where the rest of the time went: how long after the shards were created each worker claimed its first
 * (first claims), the similar features the job's worker computes meanwhile, and completing the run at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { models, saes } from '@/drizzle/schema';
import { storeCorpus, type CorpusRow } from '@/server/corpora';
import { getDb, getPool } from '@/server/db';
import { eventHub } from '@/server/events';
import { jobKinds } from '@/jobs';
import { runMigrations } from '@/server/migrate';
import type { ModelRow } from '@/server/models';
import { startEmbeddedPostgres } from '@/server/postgres';
import type { SaeRow } from '@/server/saes';
import { initBackend } from '@/compute/backend';
import { sampleModelCorpus } from '@/compute/corpus/sampled';
import { computeAndStoreDashboards, EVAL_RANGES, PASS_RANGES, shardMemoryBytes, type DashboardsOutcome } from '@/worker/jobs/dashboards';
import { helpWhenIdle } from '@/worker/jobs/dashboard-shards';
import { startHeartbeat } from '@/worker/heartbeat';
import { Gpt2Model, type Gpt2Config, type Gpt2Weights } from '@/compute/model/gpt2';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { gaussian, seededRandom, type Random } from '@/compute/random';
import { parseSaeConfig } from '@/compute/sae/config';
import { loadSae } from '@/compute/sae/load';
import { createSae, type Sae } from '@/compute/sae/sae';
import { gpt2Tokenizer } from '@/compute/tokenizer/gpt2';
import { integer, option } from './options';

// ---- options --------------------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const MODELS = option('models', 'stories,gpt2').split(',');
const STORIES_TOKENS = integer('stories-tokens', 32768);
const GPT2_TOKENS = integer('gpt2-tokens', 1024);
const STORIES_BATCH = integer('batch', 16);
const GPT2_BATCH = integer('gpt2-batch', 4);
/** features per shard; by default the job's worker sizes them by LEXICON_SHARD_MEMORY_MB */
const FEATURE_CHUNK = option('feature-chunk', '') ? integer('feature-chunk', 0) : undefined;
const WORKERS = option('workers', '1').split(',').map(Number);
if (!WORKERS.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`--workers must list whole numbers of processes ≥ 1, got "${option('workers', '1')}"`);
/** a helper process: the subject whose shards it computes */
const HELPER = option('helper', '');
const CONTEXT = 128;
const SHARED = process.env.LEXICON_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../shared');

// ---- subjects -------------------------------------------------------------------------------------------------------

interface Subject {
  name: string;
  model: LanguageModel;
  sae: Sae;
  modelRow: ModelRow;
  saeRow: SaeRow;
  corpus: CorpusRow;
  batchSize: number;
  setup: string;
}

/** Registers a model and an SAE row for objects built in memory (the rows only anchor the stored run). */
async function rows(name: string, model: LanguageModel, sae: Sae): Promise<{ modelRow: ModelRow; saeRow: SaeRow }> {
  const [modelRow] = await getDb()
    .insert(models)
    .values({ slug: name, architecture: model.config.architecture, path: '(in memory)', config: model.config, contentHash: `bench-${name}` })
    .returning();
  const [saeRow] = await getDb()
    .insert(saes)
    .values({
      modelId: modelRow!.id,
      slug: 'bench',
      hookName: sae.cfg.hookName,
      architecture: sae.cfg.architecture,
      dIn: sae.dIn,
      dSae: sae.dSae,
      cfg: sae.cfg.raw as object,
      path: '(in memory)',
      contentHash: `bench-${name}-sae`,
    })
    .returning();
  return { modelRow: modelRow!, saeRow: saeRow! };
}

type Built = { model: LanguageModel; sae: Sae };

async function storiesModels(): Promise<Built> {
  const model = await loadModel(path.join(SHARED, 'models/stories260K'));
  return { model, sae: await loadSae(path.join(SHARED, 'fixtures/sae-stories260K-l2-standard')) };
}

async function storiesSubject(): Promise<Subject> {
  const started = performance.now();
  const { model, sae } = await storiesModels();
  const { modelRow, saeRow } = await rows('stories260K', model, sae);
  const sampled = await sampleModelCorpus(model, {
    documents: 100_000, maxTokens: STORIES_TOKENS, documentTokens: 256, contextSize: CONTEXT, prependBos: true, seed: 1, temperature: 1,
  });
  const sampledAt = performance.now();
  const corpus = await storeCorpus({
    modelId: modelRow.id, name: 'bench', contexts: sampled.contexts, contextSize: CONTEXT, prependBos: true, source: sampled.source,
  });
  return {
    name: 'stories260K', model, sae, modelRow, saeRow, corpus, batchSize: STORIES_BATCH,
    setup: `corpus sampled from the model in ${s(sampledAt - started)} (${corpus.nTokens} tokens), stored in ${s(performance.now() - sampledAt)}`,
  };
}

const GPT2_CONFIG: Gpt2Config = {
  architecture: 'gpt2', dModel: 768, nLayers: 12, nHeads: 12, nKvHeads: 12, dMlp: 3072, vocabSize: 50257, contextLength: 1024, layerNormEps: 1e-5,
};
const GPT2_SAE_CFG = {
  architecture: 'standard', d_in: 768, d_sae: 24576, dtype: 'float32', apply_b_dec_to_input: true, normalize_activations: 'none',
  metadata: { model_name: 'gpt2-small-shaped-random', hook_name: 'blocks.6.hook_resid_pre', prepend_bos: true, context_size: CONTEXT, sae_lens_version: '6.0.0' },
};

/** Seeded normal(0, std) values as a tensor. */
function normal(random: Random, shape: number[], std = 0.02): tf.Tensor {
  const data = gaussian(random, shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] *= std;
  return tf.tensor(data, shape, 'float32');
}

/** The GPT-2-small-shaped model and SAE: seeded, so every process builds the same. */
function gpt2Models(): Built {
  const random = seededRandom(20240601);
  const { dModel: d, dMlp, vocabSize, contextLength, nLayers } = GPT2_CONFIG;
  const ln = () => ({ weight: tf.ones([d]) as tf.Tensor1D, bias: tf.zeros([d]) as tf.Tensor1D });
  const conv = (dIn: number, dOut: number) => ({ weight: normal(random, [dIn, dOut]) as tf.Tensor2D, bias: tf.zeros([dOut]) as tf.Tensor1D });
  const weights: Gpt2Weights = {
    tokenEmbedding: normal(random, [vocabSize, d]) as tf.Tensor2D,
    positionEmbedding: normal(random, [contextLength, d], 0.01) as tf.Tensor2D,
    blocks: Array.from({ length: nLayers }, () => ({
      ln1: ln(), attnQkv: conv(d, 3 * d), attnOut: conv(d, d), ln2: ln(), mlpIn: conv(d, dMlp), mlpOut: conv(dMlp, d),
    })),
    lnFinal: ln(),
  };
  const model = new Gpt2Model(GPT2_CONFIG, weights, gpt2Tokenizer());
  // SAE: decoder rows of norm ≈ 1, the encoder their transpose, b_enc slightly negative (sparse activations)
  const dSae = GPT2_SAE_CFG.d_sae;
  const W_dec = gaussian(random, dSae * d);
  for (let i = 0; i < W_dec.length; i++) W_dec[i] /= Math.sqrt(d);
  const W_enc = new Float32Array(d * dSae);
  for (let f = 0; f < dSae; f++) for (let i = 0; i < d; i++) W_enc[i * dSae + f] = W_dec[f * d + i]!;
  const sae = createSae(parseSaeConfig(GPT2_SAE_CFG), {
    W_enc: tf.tensor2d(W_enc, [d, dSae]),
    W_dec: tf.tensor2d(W_dec, [dSae, d]),
    b_enc: tf.fill([dSae], -0.05) as tf.Tensor1D,
    b_dec: tf.zeros([d]) as tf.Tensor1D,
  } as never);
  return { model, sae };
}

async function gpt2Subject(): Promise<Subject> {
  const started = performance.now();
  const { model, sae } = gpt2Models();
  const { vocabSize } = GPT2_CONFIG;
  const built = performance.now();
  const { modelRow, saeRow } = await rows('gpt2-small-shaped', model, sae);
  const ids = seededRandom(7);
  const contexts = Array.from({ length: Math.max(1, Math.floor(GPT2_TOKENS / CONTEXT)) }, () => [
    model.tokenizer.bosId,
    ...Array.from({ length: CONTEXT - 1 }, () => Math.floor(ids() * (vocabSize - 1))),
  ]);
  const corpus = await storeCorpus({ modelId: modelRow.id, name: 'bench', contexts, contextSize: CONTEXT, prependBos: true, source: { kind: 'random' } });
  return {
    name: 'GPT-2-small-shaped', model, sae, modelRow, saeRow, corpus, batchSize: GPT2_BATCH,
    setup: `random weights + Gpt2Model/createSae ${s(built - started)}; ${corpus.nTokens} random tokens`,
  };
}

// ---- measurement ----------------------------------------------------------------------------------------------------

interface Figures {
  name: string;
  workers: number;
  sae: string;
  tokens: number;
  outcome: DashboardsOutcome;
  features: number;
  examples: number;
  examplesBytes: number;
  maxRssMb: number;
  setup: string;
  contexts: number;
  /** as the run's params record it (planned by the job's worker unless --feature-chunk) */
  featuresPerShard: number;
}

async function measure(subject: Subject, workers: number): Promise<Figures> {
  log(`${subject.name}, ${workers} worker${workers === 1 ? '' : 's'}: ${subject.setup}`);
  const params = jobKinds.dashboards.params.parse({ saeId: subject.saeRow.id, corpusId: subject.corpus.id, batchSize: subject.batchSize, featuresPerShard: FEATURE_CHUNK });
  let lastLog = 0;
  const outcome = await computeAndStoreDashboards({
    db: getDb(),
    model: subject.model,
    sae: subject.sae,
    modelRow: subject.modelRow,
    saeRow: subject.saeRow,
    corpus: subject.corpus,
    params,
    jobId: null,
    onProgress: (fraction, d) => {
      if (Date.now() - lastLog < 10_000 && fraction < 1) return;
      lastLog = Date.now();
      log(`  ${(100 * fraction).toFixed(0)}% ${d.phase}${d.chunk ? ` (chunk ${d.chunk}/${d.chunks})` : ''}${d.tokensPerSecond ? `, ${d.tokensPerSecond.toFixed(0)} tokens/s` : ''}`);
    },
  });
  const { rows } = await getPool().query<{ features: number; examples: number; bytes: string; featuresPerShard: number }>(
    `select (select count(*)::int from feature where run_id = $1) as features,
            (select count(*)::int from feature_example where run_id = $1) as examples,
            (select coalesce(sum(octet_length(acts)), 0) from feature_example where run_id = $1) as bytes,
            (select (params->>'featuresPerShard')::int from dashboard_run where id = $1) as "featuresPerShard"`,
    [outcome.runId],
  );
  return {
    name: subject.name,
    workers,
    sae: `${subject.sae.cfg.architecture} d_sae ${subject.sae.dSae} @ ${subject.sae.cfg.hookName}`,
    tokens: subject.corpus.nTokens,
    outcome,
    features: rows[0]!.features,
    examples: rows[0]!.examples,
    examplesBytes: Number(rows[0]!.bytes),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    contexts: subject.corpus.nContexts,
    featuresPerShard: rows[0]!.featuresPerShard,
    setup: subject.setup,
  };
}

// ---- output ---------------------------------------------------------------------------------------------------------

function s(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function log(line: string) {
  console.error(`[bench] ${line}`);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---- helper processes -----------------------------------------------------------------------------------------------

const SUBJECT_MODELS: Record<string, () => Built | Promise<Built>> = { stories: storiesModels, gpt2: gpt2Models };

/** W − 1 helper processes for `model`'s subject, each ready (its model built, its heartbeat beating) when this resolves. */
async function startHelpers(model: string, count: number, databaseUrl: string): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: count }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, ...argv, '--helper', model], {
        env: { ...process.env, DATABASE_URL: databaseUrl },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      return new Promise<ChildProcess>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => String(d).includes('helper ready') && resolve(child));
        child.once('exit', (code) => reject(new Error(`a helper process exited with ${code} before it was ready`)));
      });
    }),
  );
}

/** A helper: builds the subject's model and SAE, then computes the shards of every run that has some waiting, as an idle worker. */
async function helper(model: string): Promise<void> {
  const { model: lm, sae } = await SUBJECT_MODELS[model]!();
  const heartbeat = await startHeartbeat(getDb(), tf.getBackend());
  const idle = await helpWhenIdle(getDb(), heartbeat.id, { load: async () => ({ model: lm, sae }) });
  process.on('SIGTERM', () => {
    idle.stop();
    void heartbeat.stop({ forget: true }).then(() => process.exit(0));
  });
  console.log('helper ready');
}

// ---- main -----------------------------------------------------------------------------------------------------------

const backend = await initBackend();
if (HELPER) {
  await helper(HELPER);
  await new Promise(() => undefined); // until SIGTERM
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-bench-dashboards-'));
fs.chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
const results: Figures[] = [];
try {
  await runMigrations(pg.url);
  process.env.DATABASE_URL = pg.url;
  // as a worker process listens: the job's worker is woken by its shards' ends
  await eventHub().ready();
  for (const name of MODELS) {
    const subject = name === 'stories' ? await storiesSubject() : name === 'gpt2' ? await gpt2Subject() : undefined;
    if (!subject) throw new Error(`unknown model ${name} (stories, gpt2)`);
    try {
      for (const workers of WORKERS) {
        const helpers = await startHelpers(name, workers - 1, pg.url);
        try {
          results.push(await measure(subject, workers));
        } finally {
          await Promise.all(helpers.map((child) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))));
        }
      }
    } finally {
      subject.model.dispose();
      subject.sae.dispose();
    }
  }
} finally {
  await eventHub().close();
  await getPool().end().catch(() => undefined);
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

const [load1] = os.loadavg();
const flags = backend.startsWith('wasm') ? ` (simd ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})` : '';
console.log(
  `\nbench:dashboards — backend ${backend}${flags}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load ${load1.toFixed(2)}; Node ${process.version}; ` +
    `embedded PostgreSQL; contexts of ${CONTEXT} tokens; ` +
    `${FEATURE_CHUNK ? `${FEATURE_CHUNK} features per pass over the corpus` : `feature shards sized by ${shardMemoryBytes() / 2 ** 20} MiB (LEXICON_SHARD_MEMORY_MB)`}\n`,
);
const pct = (part: number, total: number) => `${((100 * part) / total).toFixed(0)}%`;
console.log(
  table(
    ['model', 'SAE', 'workers', 'corpus tokens', 'tokens/s', 'speed-up', 'marginal tokens/s', 'total', 'model', 'SAE', 'bookkeeping', 'weights', 'database waited (all)', 'other', 'first claims', 'similar', 'complete', 'shards', 'rows (features / examples)', 'peak RSS'],
    results.map((r) => {
      const t = r.outcome.timings;
      const other = Math.max(0, t.totalSeconds - t.modelSeconds - t.saeSeconds - t.bookkeepingSeconds - t.weightsSeconds - t.databaseWaitSeconds);
      const one = results.find((o) => o.name === r.name && o.workers === 1);
      return [
        r.name,
        r.sae,
        String(r.workers),
        String(r.tokens),
        t.tokensPerSecond.toFixed(1),
        one ? `${(t.tokensPerSecond / one.outcome.timings.tokensPerSecond).toFixed(2)}×` : '',
        (r.tokens / (t.modelSeconds + t.saeSeconds + t.bookkeepingSeconds)).toFixed(1),
        `${t.totalSeconds.toFixed(1)} s`,
        `${t.modelSeconds.toFixed(1)} s (${pct(t.modelSeconds, t.totalSeconds)})`,
        `${t.saeSeconds.toFixed(1)} s (${pct(t.saeSeconds, t.totalSeconds)})`,
        `${t.bookkeepingSeconds.toFixed(1)} s (${pct(t.bookkeepingSeconds, t.totalSeconds)})`,
        `${t.weightsSeconds.toFixed(1)} s (${pct(t.weightsSeconds, t.totalSeconds)})`,
        `${t.databaseWaitSeconds.toFixed(1)} s (${pct(t.databaseWaitSeconds, t.totalSeconds)}) (${t.databaseSeconds.toFixed(1)} s)`,
        `${other.toFixed(1)} s`,
        t.firstClaimSeconds.map((seconds) => seconds.toFixed(2)).join(', ') + ' s',
        `${t.similarSeconds.toFixed(2)} s`,
        `${t.completeSeconds.toFixed(2)} s`,
        String(t.chunks),
        `${r.features} / ${r.examples} (acts ${(r.examplesBytes / 2 ** 20).toFixed(0)} MB)`,
        `${r.maxRssMb.toFixed(0)} MB`,
      ];
    }),
  ),
);
console.log(
  '\ntokens/s: corpus tokens / the whole job (weights, model, SAE, bookkeeping, database). marginal tokens/s: corpus tokens / ' +
    '(model + SAE + bookkeeping), what each further token costs; weight statistics and stored rows grow with the features, not the corpus. ' +
    'database: the time the job\'s own process waited for PostgreSQL, and in parentheses all database work, the shards\' storing summed over the workers. ' +
    'workers: processes sharing the job\'s shards (this one and --workers − 1 helpers); speed-up: tokens/s against 1 worker. ' +
    'first claims: seconds from the shards\' creation to each worker\'s first claim; similar: the similar features the job\'s worker computes ' +
    'before its first claim (part of other); complete: completing the run after the last shard (part of database).',
);
for (const r of results.filter((result) => result.workers === WORKERS[0])) {
  const t = r.outcome.timings;
  const evalRanges = Math.min(EVAL_RANGES, r.contexts);
  const featureShards = t.chunks - 2 * evalRanges;
  console.log(
    `\n${r.name}: ${r.setup}. ${t.chunks} shards: ${featureShards} for the features (${r.featuresPerShard} features a range, each range's ` +
      `statistics and examples passes over up to ${PASS_RANGES} ranges of the corpus, running the model up to the hook or, for a worker's later ` +
      `shards, reusing its hook activations, and encoding; then a merge with the logit weights), ` +
      `and the evals in ${evalRanges} ranges of the corpus twice (the model 3 times: clean, SAE spliced in, zero-ablated; then mean-ablated). ` +
      `Stored ${r.features} features and ${r.examples} examples (${(r.examplesBytes / r.examples).toFixed(0)} bytes of activations each, float32).`,
  );
}
