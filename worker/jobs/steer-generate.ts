import type { JobParams } from '@/jobs';
import { prepareInput } from '@/compute/analyses/predict';
import { generateSteered } from '@/compute/analyses/steer-generate';
import type { JobContext, JobOutput } from './context';
import { ProgressReporter } from './progress';

/** Steered generation: default and steered continuations of the user's text from one seed, with top-k log-probs. */
export async function steerGenerateJob(params: JobParams<'steer-generate'>, ctx: JobContext): Promise<JobOutput<'steer-generate'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const reporter = new ProgressReporter(ctx);
  // both continuations count: at most 2 · maxTokens tokens
  const total = 2 * params.maxTokens;
  const generation = await generateSteered(model, sae, ids, {
    steering: params.steering.map((term) => ({
      direction: 'feature' in term ? term.feature : { features: term.features, compose: term.compose },
      strength: term.strength,
    })),
    normalize: params.normalize,
    maxTokens: params.maxTokens,
    temperature: params.temperature,
    seed: params.seed,
    topK: params.topK,
    onProgress: (done) => reporter.reportSoon({ fraction: done / total, phase: 'generating', done, total }),
  });
  await reporter.flush();
  const result = { ...generation, pieces: ids.map((id) => model.tokenizer.piece(id)) };
  return { result, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}
