import type { JobParams } from '@/jobs';
import { featureActivations } from '@/compute/analyses/activations';
import { directFeatureAttribution } from '@/compute/analyses/dfa';
import { prepareInput } from '@/compute/analyses/predict';
import type { JobContext, JobOutput } from './context';

/**
 * "Test your text": the listed features' activation at every token of the user's text, and the most active features.
 * For a hook_z SAE also the first feature's direct feature attribution at its peak: which tokens it reads from.
 */
export async function activationsJob(params: JobParams<'activations'>, ctx: JobContext): Promise<JobOutput<'activations'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const result = featureActivations(model, sae, ids, { features: params.features, topK: params.topK });
  const dfa = sae.cfg.reshapeActivations === 'hook_z' ? directFeatureAttribution(model, sae, ids, params.features[0]) : undefined;
  return { result: { ...result, ...(dfa && { dfa }) }, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}
