import { eq } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import type { JobParams } from '@/jobs';
import type { VectorCounts } from '@/jobs/kinds/import';
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

/** The decoder vectors so far, as progress counts (none until the first vector). */
function vectorCounts(vectors: VectorCounts | undefined): Record<string, number> {
  if (!vectors || vectors.stored + vectors.checked === 0) return {};
  if (vectors.stored > 0) return { 'decoder vectors stored': vectors.stored };
  return { 'decoder vectors compared with the SAE’s own rows': vectors.checked, differing: vectors.mismatched };
}

/** Imports an export into the SAE (server/exchange), reporting the batch files read. */
export async function importJob(params: JobParams<'import'>, ctx: JobContext): Promise<JobOutput<'import'>> {
  const sae = await ctx.db.query.saes.findFirst({ where: eq(saes.id, params.saeId) });
  const model = sae && (await ctx.db.query.models.findFirst({ where: eq(models.id, sae.modelId) }));
  if (!sae || !model) throw new InputError(`SAE ${params.saeId} is not registered`);
  const reporter = new ProgressReporter(ctx);
  // the last counts stay on show while the similar features are computed
  let counts: Record<string, number> = {};
  const outcome = await IMPORT_FORMATS[params.format].run(ctx.db, {
    location: params.location,
    sae: `${model.slug}/${sae.slug}`,
    weights: readSaeWeights,
    onDecoderStored: async (imported) => {
      await reporter.report({ fraction: 0.99, phase: 'similar features', unit: 'features', done: 0, total: imported.dSae, extra: { counts } });
      await storeDecoderNeighbours(ctx.db, imported);
    },
    onProgress: ({ phase, done, files, filesDone, vectors }) => {
      const [start, end] = PHASE_START[phase];
      counts = { ...(phase !== 'finishing' && { 'lines read': done }), ...vectorCounts(vectors) };
      return reporter.report({ fraction: start + (end - start) * (files > 0 ? filesDone / files : 0), phase, unit: 'files', done: filesDone, total: files, extra: { counts } });
    },
  });
  const { model: _model, sae: _sae, ...result } = outcome;
  return { result, inputs: { sae: sae.contentHash, model: model.contentHash } };
}
