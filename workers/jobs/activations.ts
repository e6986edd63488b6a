import type { JobParams } from '@/server/jobs/types';
import { featureActivations } from '../analyses/activations';
import { prepareInput } from '../analyses/predict';
import type { JobContext, JobOutput } from './context';

/** "Test your text": the listed features' activation at every token of the user's text, and the most active features. */
export async function activationsJob(params: JobParams<'activations'>, ctx: JobContext): Promise<JobOutput> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const result = featureActivations(model, sae, ids, { features: params.features, topK: params.topK });
  return { result, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}
