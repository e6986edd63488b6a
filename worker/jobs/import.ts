import { eq } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import type { JobParams } from '@/jobs';
import { IMPORT_FORMATS } from '@/server/exchange';
import { readSaeWeights } from '@/server/exchange/target-sae';
import type { ImportProgress } from '@/server/exchange/neuronpedia-store';
import { InputError } from '@/compute/errors';
import type { JobContext, JobOutput } from './context';
import { ProgressReporter } from './progress';
import { storeDecoderNeighbours } from './similar-features';

/** Where each phase of an import starts in the job's fraction done (activations are most of the work). */
const PHASE_START: Record<ImportProgress['phase'], [number, number]> = {
  activations: [0, 0.7],
  features: [0.7, 0.9],
  explanations: [0.9, 0.97],
  finishing: [0.97, 1],
};

/** Imports an export into the SAE (server/exchange), reporting the batch files read. */
export async function importJob(params: JobParams<'import'>, ctx: JobContext): Promise<JobOutput<'import'>> {
  const sae = await ctx.db.query.saes.findFirst({ where: eq(saes.id, params.saeId) });
  const model = sae && (await ctx.db.query.models.findFirst({ where: eq(models.id, sae.modelId) }));
  if (!sae || !model) throw new InputError(`SAE ${params.saeId} is not registered`);
  const reporter = new ProgressReporter(ctx);
  const outcome = await IMPORT_FORMATS[params.format].run(ctx.db, {
    location: params.location,
    sae: `${model.slug}/${sae.slug}`,
    weights: readSaeWeights,
    onDecoderStored: async (imported) => {
      await reporter.report({ fraction: 0.99, phase: 'similar features', done: 0, total: imported.dSae });
      await storeDecoderNeighbours(ctx.db, imported);
    },
    onProgress: ({ phase, done, files, filesDone }) => {
      const [start, end] = PHASE_START[phase];
      return reporter.report({ fraction: start + (end - start) * (files > 0 ? filesDone / files : 0), phase, done: filesDone, total: files, extra: { lines: done } });
    },
  });
  const { model: _model, sae: _sae, ...result } = outcome;
  return { result, inputs: { sae: sae.contentHash, model: model.contentHash } };
}
