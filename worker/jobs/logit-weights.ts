import { storeFeatureWeights } from '@/server/feature-weights';
import type { JobParams } from '@/jobs';
import { HISTOGRAM_BINS } from '@/compute/dashboards/defaults';
import { featureWeights } from '@/compute/dashboards/weights';
import { InputError } from '@/compute/errors';
import type { JobContext, JobOutput } from './context';

/**
 * Recomputes the weight-based part of some features' dashboards (logit weights W_dec[f]·W_U, final norm folded in
 * or not as asked, with their histogram,
 * encoder bias, norms, D/E projection) and writes it into the SAE's current run.
 */
export async function logitWeightsJob(params: JobParams<'logit-weights'>, ctx: JobContext): Promise<JobOutput<'logit-weights'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const outOfRange = params.features.find((f) => f >= sae.dSae);
  if (outOfRange !== undefined) throw new InputError(`feature ${outOfRange} is out of range: this SAE has ${sae.dSae} features`);
  await ctx.progress(0, { phase: 'weights', unit: 'features', done: 0, total: params.features.length });
  const weights = featureWeights(model, sae, params.features, { logitWeightCount: params.k, histogramBins: HISTOGRAM_BINS, foldLn: params.foldLn });
  await ctx.progress(0.9, { phase: 'storing', unit: 'features', done: params.features.length, total: params.features.length });
  const updated = await storeFeatureWeights(
    ctx.db,
    row.id,
    weights.map((w, i) => ({ index: params.features[i]!, ...w })),
  );
  if (updated.length === 0) {
    throw new InputError('this SAE has no dashboards for these features yet: recompute the dashboard instead');
  }
  return { result: { features: updated, foldLn: params.foldLn }, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}
