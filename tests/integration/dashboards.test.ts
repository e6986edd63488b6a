/**
 * Corpora, dashboard jobs and the demo against a real PostgreSQL (embedded) and real worker processes:
 * imports, the dashboards job's stored counts, atomic re-runs, cancellation, a worker killed mid-job, and the
 * demo workspace at a tiny size.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpora, dashboardRuns, featureExamples, features, jobs, saes } from '@/drizzle/schema';
import { loadCorpusContexts, type CorpusRow } from '@/server/corpora';
import { currentRunCounts } from '@/server/dashboards';
import { getDb, getPool } from '@/server/db';
import { demoWanted, ensureDemoModel, STORIES260K_FILES } from '@/server/demo';
import { importCorpusFile } from '@/server/import-corpus';
import { enqueueJob, getJob, type JobRow } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import type { JobParams, JobType } from '@/jobs';
import type { ProgressDetail } from '@/jobs/types';
import type { ModelRow } from '@/server/models';
import { registerModel } from '@/server/register-models';
import { registerSae } from '@/server/register-saes';
import type { SaeRow } from '@/server/saes';
import { signUp, type UserRow } from '@/server/users';
import { corpusHash } from '@/compute/corpus/contexts';
import { rangesOfBatches } from '@/compute/dashboards/compute';
import { featuresPerShardWithin, SHARD_MEMORY_MB } from '@/compute/dashboards/shard-size';
import { EVAL_RANGES, PASS_RANGES } from '@/worker/jobs/dashboards';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { startWorker, waitFor, type TestWorker } from '../helpers/worker';
import { FIXTURES_DIR, SHARED_DIR, STORIES_DIR } from '../shared';

const SAE_DIR = path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard');
const STORIES_TEXT = fs.readFileSync(path.resolve(import.meta.dirname, '../unit/fixtures/short-stories.txt'), 'utf8');
const BOS = 1;
const D_SAE = 256;

let database: TestDatabase;
let workerEnv: Record<string, string>;
const workers: TestWorker[] = [];
let admin: UserRow;
let editor: UserRow;
let model: ModelRow;
let sae: SaeRow;
/** sampled by the sample-corpus job; the dashboards tests run over it */
let corpus: CorpusRow;

async function enqueue<T extends JobType>(type: T, params: Partial<JobParams<T>>): Promise<JobRow> {
  return enqueueJob(await getQueue(), { type, params: params as JobParams<T>, userId: admin.id, modelId: model.id });
}

async function finished(id: string, timeoutMs = 120_000): Promise<JobRow> {
  return waitFor(
    async () => {
      const job = await getJob(getDb(), id);
      return job && job.status !== 'queued' && job.status !== 'running' ? job : undefined;
    },
    `job ${id}`,
    timeoutMs,
  );
}

/** Waits until the job is running and has reported some tokens of progress. */
async function runningWithProgress(id: string): Promise<JobRow> {
  return waitFor(async () => {
    const job = await getJob(getDb(), id);
    if (job && job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${id} ended (${job.status}) before it could be observed running`);
    const detail = job?.progressDetail as ProgressDetail | null;
    return job?.status === 'running' && (detail?.tokensDone ?? 0) > 0 ? job : undefined;
  }, `job ${id} to make progress`);
}

async function runsOf(saeId: string) {
  return getDb().select().from(dashboardRuns).where(eq(dashboardRuns.saeId, saeId));
}

async function count(table: typeof features | typeof featureExamples, runId: string): Promise<number> {
  const [row] = await getDb()
    .select({ n: sql<number>`count(*)::int` })
    .from(table)
    .where(eq(table.runId, runId));
  return row!.n;
}

beforeAll(async () => {
  database = await startTestDatabase();
  workerEnv = {
    // a dead worker is noticed within seconds instead of 30
    LEXICON_WORKER_TIMEOUT_S: '3',
    LEXICON_DATA_DIR: path.join(database.dir, 'data'),
    LEXICON_MODELS_DIR: path.join(SHARED_DIR, 'models'),
  };
  workers.push(await startWorker(database.url, workerEnv));
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  model = await registerModel(getDb(), STORIES_DIR);
  sae = await registerSae(getDb(), model, SAE_DIR);
});

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('corpus import', () => {
  let dir: string;
  const stories = STORIES_TEXT.split(/\n\s*\n/).map((s) => s.trim()).filter(Boolean);

  beforeAll(() => {
    dir = path.join(database.dir, 'corpora');
    fs.mkdirSync(dir);
  });

  it('tokenizes plain text into contexts of the SAE’s context size with BOS, with a content hash', async () => {
    const file = path.join(dir, 'stories.txt');
    fs.writeFileSync(file, STORIES_TEXT);
    const smallContexts = await importCorpusFile(getDb(), model, file, { contextSize: 32 });
    const contexts = await loadCorpusContexts(getDb(), smallContexts.id);
    expect(contexts.length).toBe(smallContexts.nContexts);
    expect(contexts.length).toBeGreaterThan(10);
    expect(contexts.every((c) => c.length === 32 && c[0] === BOS)).toBe(true);
    expect(smallContexts).toMatchObject({ contextSize: 32, prependBos: true, nTokens: 32 * contexts.length, name: 'stories.txt' });
    expect(smallContexts.contentHash).toBe(corpusHash(contexts));

    // without --context, the registered SAE's cfg decides: context_size 256, prepend_bos true
    const fromSae = await importCorpusFile(getDb(), model, file);
    expect(fromSae.contextSize).toBe(256);
    expect(fromSae.prependBos).toBe(true);
  });

  it('reads JSONL "text" fields as the same documents (the same tokens are the same corpus)', async () => {
    const text = await importCorpusFile(getDb(), model, path.join(dir, 'stories.txt'), { contextSize: 32 });
    const file = path.join(dir, 'stories.jsonl');
    fs.writeFileSync(file, stories.map((s, i) => JSON.stringify({ id: i, text: s })).join('\n') + '\n');
    const jsonl = await importCorpusFile(getDb(), model, file, { contextSize: 32 });
    expect(jsonl.contentHash).toBe(text.contentHash);
    expect(jsonl.id).toBe(text.id);
  });

  it('takes token ids as they are (.ids and JSONL "tokens"), BOS only when asked', async () => {
    const ids = path.join(dir, 'docs.ids');
    fs.writeFileSync(ids, '5 6 7\n8,9\n\n10 11 12 13\n');
    const withBos = await importCorpusFile(getDb(), model, ids, { contextSize: 4 });
    expect(await loadCorpusContexts(getDb(), withBos.id)).toEqual([
      [BOS, 5, 6, 7],
      [BOS, 8, 9, BOS],
      [BOS, 10, 11, 12],
    ]);
    const tokens = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(tokens, [[5, 6, 7, 8], [9, 10]].map((t) => JSON.stringify({ tokens: t })).join('\n'));
    const noBos = await importCorpusFile(getDb(), model, tokens, { contextSize: 3, prependBos: false });
    expect(noBos.prependBos).toBe(false);
    expect(await loadCorpusContexts(getDb(), noBos.id)).toEqual([
      [5, 6, 7],
      [8, BOS, 9],
    ]);
  });

  it('rejects a malformed JSONL line by its number and stores nothing', async () => {
    const before = await getDb().select({ n: sql<number>`count(*)::int` }).from(corpora);
    const file = path.join(dir, 'broken.jsonl');
    fs.writeFileSync(file, `${JSON.stringify({ text: stories[0] })}\n${JSON.stringify({ text: stories[1] })}\n{"text": "unterminated\n`);
    await expect(importCorpusFile(getDb(), model, file, { contextSize: 32 })).rejects.toThrow(/broken\.jsonl, line 3/);
    fs.writeFileSync(file, `${JSON.stringify({ text: stories[0] })}\n${JSON.stringify({ body: 'no text field' })}\n`);
    await expect(importCorpusFile(getDb(), model, file, { contextSize: 32 })).rejects.toThrow(/line 2: expected an object with a "text"/);
    const bad = path.join(dir, 'bad.ids');
    fs.writeFileSync(bad, '1 2 3\n4 five 6\n');
    await expect(importCorpusFile(getDb(), model, bad, { contextSize: 4 })).rejects.toThrow(/bad\.ids, line 2: "five"/);
    const after = await getDb().select({ n: sql<number>`count(*)::int` }).from(corpora);
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('sample-corpus job', () => {
  it('samples a seeded corpus from the model and stores it', async () => {
    const job = await finished((await enqueue('sample-corpus', { modelId: model.id, maxTokens: 8192, contextSize: 64, documentTokens: 128, seed: 3 })).id);
    expect(job.error).toBeNull();
    const result = job.result as { corpusId: string; nContexts: number; nTokens: number };
    expect(result.nTokens).toBe(8192);
    corpus = (await getDb().query.corpora.findFirst({ where: eq(corpora.id, result.corpusId) }))!;
    expect(corpus).toMatchObject({ contextSize: 64, prependBos: true, nContexts: 128, source: { kind: 'sampled', seed: 3, temperature: 1 } });
    const contexts = await loadCorpusContexts(getDb(), corpus.id);
    expect(contexts.every((c) => c.length === 64 && c[0] === BOS)).toBe(true);
    expect(corpusHash(contexts)).toBe(corpus.contentHash);
  });
});

describe('dashboards job', () => {
  let first: { runId: string | null; features: number; examples: number };

  it('stores dashboards for every feature, with the examples the features’ statistics call for', async () => {
    const job = await finished((await enqueue('dashboards', { saeId: sae.id, corpusId: corpus.id })).id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    first = await currentRunCounts(getDb(), sae.id);
    expect(first.runId).toBe((job.result as { runId: string }).runId);
    expect(first.features).toBe(D_SAE);

    const rows = await getDb().select().from(features).where(eq(features.runId, first.runId!));
    expect(rows.map((r) => r.index).sort((a, b) => a - b)).toEqual(Array.from({ length: D_SAE }, (_, i) => i));
    expect(rows.every((r) => r.nTokens === corpus.nTokens && r.saeId === sae.id)).toBe(true);
    const examples = await getDb()
      .select({ feature: featureExamples.featureIndex, kind: featureExamples.kind, interval: featureExamples.interval, rank: featureExamples.rank, acts: featureExamples.acts })
      .from(featureExamples)
      .where(eq(featureExamples.runId, first.runId!));
    expect(examples.length).toBe(first.examples);
    // per feature: up to 20 top examples (ranks 0..n-1, none for a feature that never fired), and min(5, count) per interval
    const problems: string[] = [];
    for (const feature of rows) {
      const mine = examples.filter((e) => e.feature === feature.index);
      const top = mine.filter((e) => e.kind === 'top').map((e) => e.rank).sort((a, b) => a - b);
      if (top.join() !== Array.from({ length: top.length }, (_, i) => i).join()) problems.push(`${feature.index}: top ranks ${top}`);
      if (top.length > 20 || (top.length > 0) !== (feature.nonzeroCount > 0)) problems.push(`${feature.index}: ${top.length} top examples`);
      (feature.intervals as { count: number }[]).forEach((interval, i) => {
        const n = mine.filter((e) => e.kind === 'interval' && e.interval === i).length;
        if (n !== Math.min(5, interval.count)) problems.push(`${feature.index}: interval ${i} has ${n} examples for ${interval.count} activations`);
      });
    }
    expect(problems).toEqual([]);
    // activations are float32 bytes, one per token of the 64-token context
    expect(examples.every((e) => e.acts.length === 64 * 4)).toBe(true);
    // the default conventions, stored with each feature: folded logit weights, BOS left out of the examples (and
    // counted), up to 10 random contexts per firing feature
    expect(rows.every((r) => r.logitFoldLn && r.bosExcluded && r.bosCount !== null && r.bosCount <= r.nonzeroCount)).toBe(true);
    expect(rows.some((r) => r.bosCount! > 0)).toBe(true);
    for (const feature of rows) {
      const random = examples.filter((e) => e.feature === feature.index && e.kind === 'random');
      if (random.length > 10 || (random.length > 0) !== (feature.nonzeroCount > feature.bosCount!)) problems.push(`${feature.index}: ${random.length} random`);
    }
    expect(problems).toEqual([]);
    const run = (await runsOf(sae.id))[0]!;
    expect(run.status).toBe('complete');
    expect(run.params).toMatchObject({ foldLn: true, excludeBos: true, randomExamples: 10 });
    // the feature shards' size, planned from the worker's default memory budget and this corpus, is in the run's params
    const contexts = await loadCorpusContexts(getDb(), corpus.id);
    const { batchSize, featuresPerShard } = run.params as { batchSize: number; featuresPerShard: number };
    const sizing = { contextSize: Math.max(...contexts.map((c) => c.length)), nContexts: contexts.length, batchSize, randomExamples: 10 };
    expect(featuresPerShard).toBe(featuresPerShardWithin(sizing, SHARD_MEMORY_MB * 2 ** 20));
    expect(run.evals).toMatchObject({ nTokens: corpus.nTokens, nFeatures: D_SAE, meanOver: 'all corpus tokens, BOS included' });
    const evals = run.evals as { ceZeroAblated: number; ceRecoveredZero: number; ceSpliced: number; ceClean: number };
    expect(evals.ceRecoveredZero).toBeCloseTo((evals.ceZeroAblated - evals.ceSpliced) / (evals.ceZeroAblated - evals.ceClean), 10);
    // one range of features, its two passes over PASS_RANGES ranges of the corpus and their merge, and the evals' two
    // passes over EVAL_RANGES ranges: the last stored is the merge
    const shards = 2 * rangesOfBatches(contexts, batchSize, PASS_RANGES).length + 1 + 2 * Math.min(EVAL_RANGES, corpus.nContexts);
    expect(shards).toBeGreaterThan(2 + 2 * Math.min(EVAL_RANGES, corpus.nContexts) + 1);
    expect(job.progressDetail).toMatchObject({ phase: 'storing', chunk: shards, chunks: shards });
  });

  it('replaces the dashboards atomically: while a re-run runs, readers see the previous run, complete', async () => {
    const rerun = await enqueue('dashboards', { saeId: sae.id, corpusId: corpus.id, batchSize: 4 });
    let observedRunning = 0;
    const seen: { runId: string | null; features: number; examples: number }[] = [];
    for (;;) {
      const job = (await getJob(getDb(), rerun.id))!;
      if (job.status !== 'queued' && job.status !== 'running') break;
      const runs = await runsOf(sae.id);
      if (runs.some((r) => r.status === 'running')) observedRunning++;
      // the current run is always a complete one: the old run (until the swap), then the new one
      seen.push(await currentRunCounts(getDb(), sae.id));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(observedRunning).toBeGreaterThan(0);
    const done = (await getJob(getDb(), rerun.id))!;
    expect(done.status).toBe('done');
    const now = await currentRunCounts(getDb(), sae.id);
    const swap = seen.findIndex((counts) => counts.runId !== first.runId);
    expect(seen.slice(0, swap < 0 ? undefined : swap).every((counts) => JSON.stringify(counts) === JSON.stringify(first))).toBe(true);
    if (swap >= 0) expect(seen.slice(swap).every((counts) => JSON.stringify(counts) === JSON.stringify(now))).toBe(true);
    expect(seen.filter((counts) => counts.runId === first.runId).length).toBeGreaterThan(0);
    expect(now.runId).toBe((done.result as { runId: string }).runId);
    expect(now.runId).not.toBe(first.runId);
    expect(now.features).toBe(D_SAE);
    // the old run and its rows are gone
    expect((await runsOf(sae.id)).map((r) => r.id)).toEqual([now.runId]);
    expect(await count(features, first.runId!)).toBe(0);
    first = now;
  });

  it('lets the owner or an admin cancel a running job; the previous dashboards stay and the cancelled run leaves nothing', async () => {
    const job = await enqueue('dashboards', { saeId: sae.id, corpusId: corpus.id, batchSize: 2 });
    const running = await runningWithProgress(job.id);
    // what the pages show: the phase, tokens done of the total, tokens/s and the ETA; the total counts the feature
    // shard's two passes over the corpus and the evals' two (clean, spliced and zero-ablated, then mean-ablated)
    expect(running.progressDetail).toMatchObject({
      phase: expect.stringMatching(/evals|statistics|examples/),
      tokensDone: expect.any(Number),
      tokensTotal: 4 * corpus.nTokens,
      tokensPerSecond: expect.any(Number),
      etaSeconds: expect.any(Number),
    });
    expect(running.progress).toBeGreaterThan(0);
    await expect(callerFor(editor).job.cancel({ id: job.id })).rejects.toThrow(/owner or an admin/);
    expect((await callerFor(admin).job.active({ type: 'dashboards' })).map((j) => j.id)).toContain(job.id);
    const cancelled = await callerFor(admin).job.cancel({ id: job.id });
    expect(cancelled.status).toBe('cancelled');
    // the worker notices at its next progress report and deletes the run's rows
    await waitFor(async () => {
      const runs = await getDb().select().from(dashboardRuns).where(eq(dashboardRuns.jobId, job.id));
      return runs.length === 0 ? true : undefined;
    }, 'the cancelled run to be deleted');
    expect((await getJob(getDb(), job.id))!.status).toBe('cancelled');
    expect(await currentRunCounts(getDb(), sae.id)).toEqual(first);
    expect((await runsOf(sae.id)).map((r) => r.id)).toEqual([first.runId]);
    await expect(callerFor(admin).job.cancel({ id: job.id })).rejects.toThrow(/already cancelled/);
  });

  it('hands the job of a killed worker to another, which completes it once, without duplicate rows', async () => {
    const job = await enqueue('dashboards', { saeId: sae.id, corpusId: corpus.id, batchSize: 2 });
    const claimed = await runningWithProgress(job.id);
    const [victim] = workers.splice(0, 1);
    expect(claimed.workerId).toContain(`:${victim!.process.pid}`);
    await victim!.stop('SIGKILL');
    const partial = await getDb().select().from(dashboardRuns).where(eq(dashboardRuns.jobId, job.id));
    expect(partial.map((r) => r.status)).toEqual(['running']);

    const rescuer = await startWorker(database.url, workerEnv);
    workers.push(rescuer);
    const done = await finished(job.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('done');
    expect(done.workerId).toContain(`:${rescuer.process.pid}`);

    const runs = await runsOf(sae.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: (done.result as { runId: string }).runId, status: 'complete', jobId: job.id });
    const counts = await currentRunCounts(getDb(), sae.id);
    expect(counts.runId).toBe(runs[0]!.id);
    expect(counts.features).toBe(D_SAE);
    // every feature once, and every example once, across all the SAE's rows
    const [{ n: featureRows }] = await getDb().select({ n: sql<number>`count(*)::int` }).from(features).where(eq(features.saeId, sae.id));
    expect(featureRows).toBe(D_SAE);
    const duplicates = await getPool().query(
      `select feature_index, kind, interval, rank from feature_example where run_id = $1
       group by feature_index, kind, interval, rank having count(*) > 1`,
      [counts.runId],
    );
    expect(duplicates.rowCount).toBe(0);
    expect(counts.examples).toBe(first.examples);
  });
});

describe('demo', () => {
  it('sets up a workspace: the model, a sampled corpus, SAEs at two hooks with dashboards and evals', async () => {
    expect(await demoWanted(getDb())).toBe(false); // an SAE is registered already
    const job = await enqueueJob(await getQueue(), {
      type: 'demo',
      params: { tokens: 2048, contextSize: 64, documentTokens: 128, dSae: 64, epochs: 2 } as JobParams<'demo'>,
      userId: null,
      modelId: null,
    });
    const progress = await waitFor(async () => {
      const row = await getJob(getDb(), job.id);
      const detail = row?.progressDetail as ProgressDetail | null;
      return detail?.step ? detail : undefined;
    }, 'the demo to report a step');
    expect(progress).toMatchObject({ step: expect.any(String), stepNumber: expect.any(Number), steps: 6 });
    const done = await finished(job.id, 150_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('done');
    const result = done.result as { saes: { slug: string; id: string; runId: string; evals: { l0: number } }[]; corpusId: string };
    expect(result.saes.map((s) => s.slug)).toEqual(['1-res', '3-res']);
    for (const entry of result.saes) {
      const row = (await getDb().query.saes.findFirst({ where: and(eq(saes.modelId, model.id), eq(saes.slug, entry.slug)) }))!;
      expect(row.hookName).toBe(entry.slug === '1-res' ? 'blocks.1.hook_resid_post' : 'blocks.3.hook_resid_post');
      expect(row.path.startsWith(path.join(database.dir, 'data', 'saes'))).toBe(true);
      expect(fs.existsSync(path.join(row.path, 'cfg.json'))).toBe(true);
      const counts = await currentRunCounts(getDb(), row.id);
      expect(counts).toMatchObject({ runId: entry.runId, features: 64 });
      expect(entry.evals.l0).toBeGreaterThan(0);
    }
    const [{ n }] = await getDb().select({ n: sql<number>`count(*)::int` }).from(jobs).where(eq(jobs.type, 'demo'));
    expect(n).toBe(1);
    expect((await callerFor(null).job.latest({ type: 'demo' }))?.id).toBe(job.id);
    expect((await callerFor(null).model.saes()).map((s) => s.slug)).toEqual(['1-res', '2-res', '3-res']);
  });

  it('downloads the model when it is not on disk, checking its sha256, and says where to put it when it cannot', async () => {
    const files = new Map<string, Buffer>(STORIES260K_FILES.map((f) => [f.name, fs.readFileSync(path.join(STORIES_DIR, f.name))]));
    let corrupt = false;
    const server = http.createServer((req, res) => {
      const body = files.get(path.basename(req.url ?? ''));
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200).end(corrupt ? Buffer.concat([body, Buffer.from('x')]) : body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stories260K`;
    try {
      const empty = path.join(database.dir, 'no-models');
      fs.mkdirSync(empty);
      const dataDir = path.join(database.dir, 'download');
      const fetched = await ensureDemoModel({ modelsDir: empty, dataDir, baseUrl });
      expect(fetched).toEqual({ dir: path.join(dataDir, 'models', 'stories260K'), how: 'downloaded' });
      expect(fs.readFileSync(path.join(fetched.dir, 'stories260K.bin')).equals(files.get('stories260K.bin')!)).toBe(true);
      expect(await ensureDemoModel({ modelsDir: empty, dataDir, baseUrl })).toMatchObject({ how: 'found' });

      corrupt = true;
      const other = path.join(database.dir, 'download-corrupt');
      await expect(ensureDemoModel({ modelsDir: empty, dataDir: other, baseUrl })).rejects.toThrow(/sha256/);
      expect(fs.existsSync(path.join(other, 'models', 'stories260K', 'stories260K.bin'))).toBe(false);
    } finally {
      server.close();
    }
    const offline = path.join(database.dir, 'offline');
    const error = await ensureDemoModel({ modelsDir: offline, dataDir: offline, baseUrl: 'http://127.0.0.1:9/stories260K' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`Put stories260K.bin and tok512.bin`);
    expect((error as Error).message).toContain(path.join(offline, 'models', 'stories260K'));
  });
});

describe('train-sae job', () => {
  it('says in its result and last progress report how many of the corpus tokens it trained on, and why not all', async () => {
    const job = await finished(
      (
        await enqueue('train-sae', {
          modelId: model.id,
          corpusId: corpus.id,
          hookName: 'blocks.0.hook_resid_post',
          slug: 'cut-corpus',
          dSae: 32,
          maxTokens: 4096,
          steps: 4,
          batchSize: 256,
          lrSchedule: 'cosineannealing',
          lrWarmupSteps: 2,
        })
      ).id,
    );
    expect(job.error).toBeNull();
    const note = "trained on 1024 of the corpus's 8192 tokens: maxTokens 4096 kept the first 4096; 4 steps × 256 tokens per step reach 1024 of those 4096";
    expect(job.result).toMatchObject({ steps: 4, tokens: { corpusTokens: 8192, selectedTokens: 4096, tokensUsed: 1024, steps: 4, batchSize: 256 }, note });
    expect(job.progressDetail).toMatchObject({ phase: 'registering', tokensUsed: 1024, corpusTokens: 8192, note });
  });

  it('refuses a slug that is not one before anything is trained or written', async () => {
    const job = await finished(
      (await enqueue('train-sae', { modelId: model.id, corpusId: corpus.id, hookName: 'blocks.0.hook_resid_post', slug: '../escape', dSae: 32, steps: 1 })).id,
    );
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/SAE slug "\.\.\/escape" may only use letters/);
    expect(job.progressDetail).toBeNull();
  });
});
