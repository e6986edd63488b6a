import { eq } from 'drizzle-orm';
import { corpora } from '@/drizzle/schema';
import { loadCorpusContexts } from '@/server/corpora';
import { abandonRun, beginRun, completeRun, storeFeatureDashboards } from '@/server/dashboards';
import type { JobParams } from '@/server/jobs/types';
import { computeDashboards } from '../dashboards/compute';
import { InputError } from '../errors';
import type { JobContext, JobOutput } from './context';

/**
 * Features per pass over the corpus: bounds the examples held in memory (top and interval examples
 * of every feature of the chunk) for large SAEs. Each chunk streams the corpus again.
 */
const FEATURE_CHUNK = 4096;
/** Progress reports to the database at most this often. */
const PROGRESS_INTERVAL_MS = 1000;

export async function dashboardsJob(params: JobParams<'dashboards'>, ctx: JobContext): Promise<JobOutput> {
  const { row: saeRow, sae, modelRow, model } = await ctx.sae(params.saeId);
  const corpus = await ctx.db.query.corpora.findFirst({ where: eq(corpora.id, params.corpusId) });
  if (!corpus) throw new InputError(`corpus ${params.corpusId} does not exist`);
  if (corpus.modelId !== modelRow.id) throw new InputError(`corpus "${corpus.name}" was tokenized for another model`);
  const outOfRange = params.features?.find((f) => f >= sae.dSae);
  if (outOfRange !== undefined) throw new InputError(`feature ${outOfRange} is out of range: this SAE has ${sae.dSae} features`);

  const contexts = await loadCorpusContexts(ctx.db, corpus.id);
  const subset = params.features !== undefined;
  const wanted = params.features ?? Array.from({ length: sae.dSae }, (_, i) => i);
  const run = await beginRun(ctx.db, { saeId: saeRow.id, corpusId: corpus.id, jobId: ctx.jobId, params });
  try {
    let evals = null;
    let timings = null;
    let lastReport = 0;
    const chunks = Math.ceil(wanted.length / FEATURE_CHUNK);
    for (let c = 0; c < chunks; c++) {
      const result = await computeDashboards({
        model,
        sae,
        contexts,
        features: wanted.slice(c * FEATURE_CHUNK, (c + 1) * FEATURE_CHUNK),
        batchSize: params.batchSize,
        ablateTopExamples: params.ablateTopExamples,
        seed: params.seed,
        signal: ctx.signal,
        onProgress: async (p) => {
          if (Date.now() - lastReport < PROGRESS_INTERVAL_MS && p.tokensDone < p.tokensTotal) return;
          lastReport = Date.now();
          const fraction = (c + p.tokensDone / Math.max(1, p.tokensTotal)) / chunks;
          await ctx.progress(fraction, { ...p, chunk: c + 1, chunks });
        },
      });
      await storeFeatureDashboards(ctx.db, run.id, saeRow.id, result.features);
      // The evals cover every feature in every chunk; the first chunk's are kept.
      if (c === 0) {
        const { firingCounts: _counts, ...rest } = result.sae;
        evals = rest;
        timings = result.timings;
      }
    }
    ctx.signal.throwIfAborted();
    await completeRun(run.id, { evals: subset ? null : evals, timings: timings ?? {}, nTokens: corpus.nTokens, subset });
  } catch (err) {
    await abandonRun(ctx.db, run.id);
    throw err;
  }
  return {
    result: { runId: run.id, features: wanted.length, nTokens: corpus.nTokens },
    inputs: { model: modelRow.contentHash, sae: saeRow.contentHash, corpus: corpus.contentHash },
  };
}
