import { storeCorpus } from '@/server/corpora';
import type { JobParams } from '@/jobs';
import { sampleModelCorpus } from '@/compute/corpus/sampled';
import type { JobContext, JobOutput } from './context';
import { ProgressReporter } from './progress';

/** Samples a corpus from the model and stores it (an identical corpus already stored is returned instead). */
export async function sampleCorpusJob(params: JobParams<'sample-corpus'>, ctx: JobContext): Promise<JobOutput<'sample-corpus'>> {
  const { row, model } = await ctx.model(params.modelId);
  const reporter = new ProgressReporter(ctx);
  const sampled = await sampleModelCorpus(model, {
    ...params,
    onProgress: ({ tokens }) =>
      reporter.reportSoon({ fraction: 0.95 * Math.min(1, tokens / params.maxTokens), phase: 'sampling', done: Math.min(tokens, params.maxTokens), total: params.maxTokens }),
  });
  await reporter.flush();
  await reporter.report({ fraction: 0.95, phase: 'storing', done: 0, total: sampled.contexts.length, unit: 'contexts' });
  const corpus = await storeCorpus({
    modelId: row.id,
    name: params.name ?? `sampled, seed ${params.seed}, ${sampled.contexts.length * params.contextSize} tokens`,
    contexts: sampled.contexts,
    contextSize: params.contextSize,
    prependBos: params.prependBos,
    source: sampled.source,
  });
  return {
    result: { corpusId: corpus.id, name: corpus.name, nContexts: corpus.nContexts, nTokens: corpus.nTokens, documents: sampled.documents },
    inputs: { model: row.contentHash, corpus: corpus.contentHash },
  };
}
