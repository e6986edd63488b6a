import { promises as fs } from 'node:fs';
import path from 'node:path';
import { config } from '@/server/config';
import { loadCorpusContexts } from '@/server/corpora';
import type { JobParams } from '@/jobs';
import { checkSaeSlug, defaultSaeSlug, registerSae } from '@/server/register-saes';
import { getSaeBySlug } from '@/server/saes';
import { collectHookActivations, hookWidth } from '@/compute/analyses/activations-at-hook';
import { InputError } from '@/compute/errors';
import { writeSaeLensDirectory } from '@/compute/sae/save';
import { trainSae } from '@/compute/sae/train';
import { describeTokenUse } from '@/compute/sae/token-use';
import type { JobContext, JobOutput } from './context';
import { ProgressReporter } from './progress';

/** Contexts per forward pass while collecting the training activations. */
const COLLECT_BATCH = 16;
/** Shares of the job's progress: activations, training, then writing and registering. */
const COLLECT_SHARE = 0.15;
const TRAIN_SHARE = 0.75;

/** Where trained SAEs go: <data dir>/saes/<model>/<sae>. */
export function trainedSaeDir(modelSlug: string, saeSlug: string): string {
  return path.join(config.dataDir, 'saes', modelSlug, saeSlug);
}

/**
 * Trains an SAE on the model's activations at a hook over a stored corpus (compute/sae/train.ts), writes it as a
 * SAELens directory under the data dir and registers it (with the import check) as model/slug.
 */
export async function trainSaeJob(params: JobParams<'train-sae'>, ctx: JobContext): Promise<JobOutput<'train-sae'>> {
  const { row: modelRow, model } = await ctx.model(params.modelId);
  const corpus = await ctx.db.query.corpora.findFirst({ where: (c, { eq }) => eq(c.id, params.corpusId) });
  if (!corpus) throw new InputError(`corpus ${params.corpusId} does not exist`);
  if (corpus.modelId !== modelRow.id) throw new InputError(`corpus "${corpus.name}" was tokenized for another model`);
  if (!model.hookNames.includes(params.hookName)) {
    throw new InputError(`unknown hook "${params.hookName}"; ${modelRow.slug} has ${model.hookNames.join(', ')}`);
  }
  const slug = params.slug ?? defaultSaeSlug(params.hookName);
  checkSaeSlug(slug);
  const dir = trainedSaeDir(modelRow.slug, slug);
  const existing = await getSaeBySlug(ctx.db, modelRow.id, slug);
  if (existing) {
    // An earlier attempt of this very job (its worker died after registering) finished the work: report it.
    const job = await ctx.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, ctx.jobId) });
    if (job && existing.path === dir && existing.createdAt >= job.createdAt) {
      return {
        result: { saeId: existing.id, slug: existing.slug, path: dir, importCheck: existing.importCheck, resumed: true },
        inputs: { model: modelRow.contentHash, corpus: corpus.contentHash, sae: existing.contentHash },
      };
    }
    throw new InputError(`${modelRow.slug}/${slug} is already registered; give the new SAE another slug`);
  }

  let contexts = await loadCorpusContexts(ctx.db, corpus.id);
  if (params.maxTokens !== undefined) contexts = contexts.slice(0, Math.max(1, Math.floor(params.maxTokens / corpus.contextSize)));
  const nTokens = contexts.reduce((n, c) => n + c.length, 0);
  const dIn = hookWidth(model, params.hookName);
  const reporter = new ProgressReporter(ctx);

  // The activations at the hook over the corpus, [nTokens, dIn] (trainSae holds them all in memory anyway).
  const activations = new Float32Array(nTokens * dIn);
  let offset = 0;
  for await (const rows of collectHookActivations(model, contexts, params.hookName, { batchSize: COLLECT_BATCH })) {
    activations.set(rows, offset);
    offset += rows.length;
    const done = offset / dIn;
    await reporter.report({ fraction: COLLECT_SHARE * (done / nTokens), phase: 'activations', done, total: nTokens });
  }

  const result = await trainSae({
    activations,
    dIn,
    dSae: params.dSae,
    architecture: params.architecture,
    k: params.k,
    l1Coefficient: params.l1,
    lr: params.lr,
    lrSchedule: params.lrSchedule,
    lrWarmupSteps: params.lrWarmupSteps,
    lrDecaySteps: params.lrDecaySteps,
    lrEnd: params.lrEnd,
    steps: params.steps,
    epochs: params.epochs,
    batchSize: params.batchSize,
    seed: params.seed,
    onProgress: (p) =>
      reporter.reportSoon({
        fraction: COLLECT_SHARE + TRAIN_SHARE * (p.step / p.steps),
        phase: 'training',
        done: p.step,
        total: p.steps,
        unit: 'steps',
        extra: { loss: p.loss, l0: p.l0, varianceExplained: p.varianceExplained, deadFraction: p.deadFraction, lr: p.lr, corpusTokens: corpus.nTokens, trainingTokens: nTokens },
      }),
  });
  await reporter.flush();
  const tokens = { corpusTokens: corpus.nTokens, selectedTokens: nTokens, tokensUsed: result.tokensUsed, steps: result.steps, batchSize: result.batchSize };
  const tokenNote = describeTokenUse(tokens, `maxTokens ${params.maxTokens}`);

  await reporter.report({
    fraction: COLLECT_SHARE + TRAIN_SHARE,
    phase: 'registering',
    done: 0,
    total: 1,
    unit: 'steps',
    extra: { tokensUsed: result.tokensUsed, corpusTokens: corpus.nTokens, ...(tokenNote && { note: tokenNote }) },
  });
  // an earlier attempt (a crashed worker) may have left a directory behind: it is not registered, so replace it
  await fs.rm(dir, { recursive: true, force: true });
  await writeSaeLensDirectory(
    dir,
    result.weights,
    {
      architecture: params.architecture,
      ...(params.architecture === 'topk' && { k: params.k }),
      modelName: modelRow.slug,
      hookName: params.hookName,
      prependBos: corpus.prependBos,
      contextSize: corpus.contextSize,
      datasetPath: `lexicon corpus ${corpus.name} (sha256 ${corpus.contentHash.slice(0, 12)})`,
    },
    result.metrics.featureDensity,
  );
  const sae = await registerSae(ctx.db, modelRow, dir, { slug });
  const { featureDensity: _density, ...metrics } = result.metrics;
  return {
    result: {
      saeId: sae.id,
      slug: sae.slug,
      path: dir,
      steps: result.steps,
      resampled: result.resampled,
      tokens,
      ...(tokenNote && { note: tokenNote }),
      metrics,
      importCheck: sae.importCheck,
    },
    inputs: { model: modelRow.contentHash, corpus: corpus.contentHash, sae: sae.contentHash },
  };
}
