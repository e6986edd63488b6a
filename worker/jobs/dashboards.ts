import { eq } from 'drizzle-orm';
import { corpora } from '@/drizzle/schema';
import { loadCorpusContexts, type CorpusRow } from '@/server/corpora';
import { abandonRun, beginRun, completeRun, storeFeatureDashboards } from '@/server/dashboards';
import type { Db } from '@/server/db';
import type { JobParams } from '@/jobs';
import type { ProgressDetail } from '@/jobs/types';
import type { ModelRow } from '@/server/models';
import type { SaeRow } from '@/server/saes';
import { computeDashboards, HookActivationCache } from '@/compute/dashboards/compute';
import type { DashboardPhase, DashboardResult, DashboardTimings, SaeEvals } from '@/compute/dashboards/types';
import { InputError } from '@/compute/errors';
import type { LanguageModel } from '@/compute/model/types';
import type { Sae } from '@/compute/sae/sae';
import type { JobContext, JobOutput } from './context';
import { computeSimilarFeatures } from './similar-features';

/**
 * Features per pass over the corpus: bounds the examples held in memory (top and interval examples
 * of every feature of the chunk) for large SAEs. Each chunk streams the corpus again; the first computes the SAE
 * evals and keeps the hook activations on the host (within HookActivationCache's budget), so later chunks run only
 * the SAE encoder (or, past the budget, the model up to the hook).
 */
const FEATURE_CHUNK = 4096;
/** Progress reports at most this often (and at each phase's first and last report). */
const PROGRESS_INTERVAL_MS = 1000;

/** What the pages call the computation's phases. */
const PHASE_NAMES: Record<DashboardPhase, string> = {
  weights: 'logit weights',
  statistics: 'first pass: statistics',
  examples: 'second pass: examples',
  ablation: 'ablating the top examples',
};

export interface DashboardsInput {
  db: Db;
  model: LanguageModel;
  sae: Sae;
  modelRow: ModelRow;
  saeRow: SaeRow;
  corpus: CorpusRow;
  params: JobParams<'dashboards'>;
  /** the job the run belongs to (a retried job drops its earlier attempt's rows); null from the command line */
  jobId: string | null;
  signal?: AbortSignal;
  /** the fraction done and what is going on (from reading the corpus on), at most once a second (and at each phase's start and end); awaited */
  onProgress?: (fraction: number, detail: ProgressDetail) => void | Promise<void>;
  /** features per pass over the corpus (default 4096) */
  featureChunk?: number;
}

/** Where the time went: the computation's parts summed over the feature chunks, and the database. */
export interface DashboardsTimings extends Omit<DashboardTimings, 'tokensPerSecond' | 'totalSeconds'> {
  /** reading the corpus, beginning, storing and completing the run (wall clock; storing overlaps the next chunk) */
  databaseSeconds: number;
  /** the part of databaseSeconds the computation waited for */
  databaseWaitSeconds: number;
  /** similar features (a whole-SAE run): the SAE's and other SAEs' weights compared */
  similarSeconds: number;
  totalSeconds: number;
  /** corpus tokens / totalSeconds */
  tokensPerSecond: number;
  /** passes over the corpus (feature chunks): each runs the model over every token again */
  chunks: number;
}

export interface DashboardsOutcome {
  runId: string;
  features: number;
  nTokens: number;
  timings: DashboardsTimings;
  /** whether the run became current: one over far fewer tokens than the current run is kept beside it instead */
  current: boolean;
  /** why it did not: a sentence for the job's result and the command line */
  warning?: string;
}

/**
 * Computes an SAE's dashboards over a corpus and stores them as a dashboard run, made current only when complete
 * (server/dashboards.ts). The dashboards job, `lexicon dashboards` and the demo all come through here.
 * On any failure or cancellation the run's rows are deleted; the current dashboards stay as they were.
 */
export async function computeAndStoreDashboards(input: DashboardsInput): Promise<DashboardsOutcome> {
  const { db, model, sae, saeRow, corpus, params, signal } = input;
  if (corpus.modelId !== saeRow.modelId) throw new InputError(`corpus "${corpus.name}" was tokenized for another model`);
  const outOfRange = params.features?.find((f) => f >= sae.dSae);
  if (outOfRange !== undefined) throw new InputError(`feature ${outOfRange} is out of range: this SAE has ${sae.dSae} features`);

  const started = performance.now();
  /** database work (wall clock), and the part of it the computation waited for */
  let databaseSeconds = 0;
  let databaseWaitSeconds = 0;
  const timed = async <T>(work: () => Promise<T>, waited = true): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      databaseSeconds += (performance.now() - start) / 1000;
      if (waited) databaseWaitSeconds += (performance.now() - start) / 1000;
    }
  };
  /** A chunk's rows are stored while the next chunk computes (PostgreSQL works on the other core). */
  let storing: Promise<void> = Promise.resolve();
  const storingDone = async () => {
    const start = performance.now();
    try {
      await storing;
    } finally {
      databaseWaitSeconds += (performance.now() - start) / 1000;
    }
  };

  await input.onProgress?.(0, { phase: 'reading the corpus' });
  const contexts = await timed(() => loadCorpusContexts(db, corpus.id));
  const subset = params.features !== undefined;
  const wanted = params.features ?? Array.from({ length: sae.dSae }, (_, i) => i);
  const featureChunk = input.featureChunk ?? FEATURE_CHUNK;
  const chunks = Math.ceil(wanted.length / featureChunk);
  const parts = { modelSeconds: 0, saeSeconds: 0, bookkeepingSeconds: 0, weightsSeconds: 0 };
  const run = await timed(() => beginRun(db, { saeId: saeRow.id, corpusId: corpus.id, jobId: input.jobId, params }));
  try {
    // from the weights alone, so first; a subset's run keeps the neighbours of the last whole-SAE run
    const similarStart = performance.now();
    let lastSimilarReport = 0;
    const similar = subset
      ? undefined
      : await computeSimilarFeatures({
          db,
          weights: sae.weights,
          saeRow,
          signal,
          onProgress: async (done, total) => {
            if (Date.now() - lastSimilarReport < PROGRESS_INTERVAL_MS && done < total) return;
            lastSimilarReport = Date.now();
            const seconds = (performance.now() - similarStart) / 1000;
            const rate = done / Math.max(seconds, 1e-3);
            await input.onProgress?.(0, { phase: 'similar features', unit: 'features', done, total, rate, etaSeconds: rate > 0 ? (total - done) / rate : null });
          },
        });
    const similarSeconds = (performance.now() - similarStart) / 1000;
    let evals: SaeEvals | null = null;
    // A whole SAE's later chunks reuse the first chunk's evals (with ablations each computes them again, so that every
    // ablation compares with the clean losses of a pass over the corpus); a subset's run skips them, as it stores
    // none, and its second pass reads the hook activations from the cache.
    const reuse = chunks > 1 && !params.ablateTopExamples;
    const hookCache = reuse || subset ? new HookActivationCache() : undefined;
    let lastReport = 0;
    let lastPhase: DashboardPhase | undefined;
    for (let c = 0; c < chunks; c++) {
      const result: DashboardResult<SaeEvals | null> = await computeDashboards({
        model,
        sae,
        contexts,
        features: wanted.slice(c * featureChunk, (c + 1) * featureChunk),
        batchSize: params.batchSize,
        ablateTopExamples: params.ablateTopExamples,
        foldLn: params.foldLn,
        excludeBos: params.excludeBos,
        randomExamples: params.randomExamples,
        seed: params.seed,
        evals: subset ? 'skip' : (reuse && evals) || 'compute',
        hookCache,
        signal,
        onProgress: async (p) => {
          const last = p.features ? p.features.done >= p.features.total : p.tokensDone >= p.tokensTotal;
          if (Date.now() - lastReport < PROGRESS_INTERVAL_MS && p.phase === lastPhase && !last) return;
          lastReport = Date.now();
          lastPhase = p.phase;
          const total = p.tokensTotal * chunks;
          const done = c * p.tokensTotal + p.tokensDone;
          const tokens = { tokensDone: done, tokensTotal: total, tokensPerSecond: p.tokensPerSecond, chunk: c + 1, chunks };
          await input.onProgress?.(
            done / Math.max(1, total),
            p.features
              ? { phase: PHASE_NAMES.weights, unit: 'features', done: p.features.done, total: p.features.total, rate: p.features.perSecond, etaSeconds: p.etaSeconds, ...tokens }
              : {
                  phase: PHASE_NAMES[p.phase],
                  unit: 'tokens',
                  done,
                  total,
                  rate: p.tokensPerSecond,
                  etaSeconds: p.tokensPerSecond > 0 ? (total - done) / p.tokensPerSecond : null,
                  ...tokens,
                },
          );
        },
      });
      for (const key of Object.keys(parts) as (keyof typeof parts)[]) parts[key] += result.timings[key];
      await storingDone();
      await input.onProgress?.((c + 1) / chunks, { phase: 'storing', unit: 'chunks', done: c, total: chunks, chunk: c + 1, chunks });
      storing = timed(() => storeFeatureDashboards(db, run.id, saeRow.id, result.features), false);
      // an unobserved rejection is seen at the next storingDone(); keep Node from reporting it meanwhile
      storing.catch(() => undefined);
      if (c === 0) evals = result.sae;
    }
    await storingDone();
    signal?.throwIfAborted();
    const totalSeconds = (performance.now() - started) / 1000;
    const timings: DashboardsTimings = {
      ...parts,
      databaseSeconds,
      databaseWaitSeconds,
      similarSeconds,
      totalSeconds,
      tokensPerSecond: corpus.nTokens / totalSeconds,
      chunks,
    };
    const completeStart = performance.now();
    const stored = evals && (({ firingCounts: _counts, ...rest }) => rest)(evals);
    const completion = await completeRun(run.id, { evals: stored, timings, nTokens: corpus.nTokens, subset, similar });
    timings.databaseSeconds += (performance.now() - completeStart) / 1000;
    timings.databaseWaitSeconds += (performance.now() - completeStart) / 1000;
    timings.totalSeconds = (performance.now() - started) / 1000;
    timings.tokensPerSecond = corpus.nTokens / timings.totalSeconds;
    const warning = completion.current
      ? undefined
      : `kept beside the current dashboards, not made current: this corpus has ${corpus.nTokens.toLocaleString('en')} tokens, the current run ` +
        `${completion.keptCurrentTokens!.toLocaleString('en')} (densities over far fewer tokens make rare features look dead); a maintainer ` +
        `can make it current on the SAE's page`;
    return { runId: run.id, features: wanted.length, nTokens: corpus.nTokens, timings, current: completion.current, warning };
  } catch (err) {
    await storing.catch(() => undefined); // no insert may land after the run is deleted
    await abandonRun(db, run.id);
    throw err;
  }
}

export async function dashboardsJob(params: JobParams<'dashboards'>, ctx: JobContext): Promise<JobOutput<'dashboards'>> {
  // pages poll the record from the start: a first load of a large model takes a while
  const report = async (fraction: number, detail: ProgressDetail) => {
    await ctx.progress(fraction, detail);
    ctx.signal.throwIfAborted();
  };
  await report(0, { phase: 'loading the model' });
  const { row: saeRow, sae, modelRow, model } = await ctx.sae(params.saeId);
  const corpus = await ctx.db.query.corpora.findFirst({ where: eq(corpora.id, params.corpusId) });
  if (!corpus) throw new InputError(`corpus ${params.corpusId} does not exist`);
  const outcome = await computeAndStoreDashboards({
    db: ctx.db,
    model,
    sae,
    modelRow,
    saeRow,
    corpus,
    params,
    jobId: ctx.jobId,
    signal: ctx.signal,
    onProgress: report,
  });
  return {
    result: {
      runId: outcome.runId,
      features: outcome.features,
      nTokens: outcome.nTokens,
      foldLn: params.foldLn,
      excludeBos: params.excludeBos,
      timings: outcome.timings,
      current: outcome.current,
      warning: outcome.warning,
    },
    inputs: { model: modelRow.contentHash, sae: saeRow.contentHash, corpus: corpus.contentHash },
  };
}
