import type { JobParams } from '@/jobs';
import { predict, prepareInput } from '@/compute/analyses/predict';
import type { JobContext, JobOutput } from './context';

export async function runJob(params: JobParams<'run'>, ctx: JobContext): Promise<JobOutput<'run'>> {
  const { row, model } = await ctx.model(params.modelId);
  const ids = prepareInput(model, params.input);
  const result = predict(model, ids, { top: params.top, generate: params.generate });
  // The page shows the continuation as text; the worker holds the tokenizer.
  return { result: { ...result, generatedText: model.tokenizer.decode(result.generated) }, inputs: { model: row.contentHash } };
}
