import { number, optionalInteger, requiredString, UsageError, type Command } from '../args';
import { progressBar } from '../progress';
import { describeCorpus, modelBySlug, withDatabase } from '../workspace';

export const corpusSample: Command = {
  name: 'corpus sample',
  usage: '--model SLUG [--documents N] [--max-tokens 100000] [--document-tokens 256] [--context 128] [--seed S] [--temperature 1] [--name NAME]',
  summary: 'sample a corpus from the model itself (seeded; stories for stories260K) and store it',
  options: {
    model: { type: 'string' },
    documents: { type: 'string' },
    'max-tokens': { type: 'string' },
    'document-tokens': { type: 'string' },
    context: { type: 'string' },
    seed: { type: 'string' },
    temperature: { type: 'string' },
    name: { type: 'string' },
  },
  async run(values) {
    const modelSlug = requiredString(values, 'model');
    const { jobKinds } = await import('../../jobs');
    const parsed = jobKinds['sample-corpus'].params.safeParse({
      modelId: '00000000-0000-0000-0000-000000000000',
      documents: optionalInteger(values, 'documents'),
      maxTokens: optionalInteger(values, 'max-tokens'),
      documentTokens: optionalInteger(values, 'document-tokens'),
      contextSize: optionalInteger(values, 'context'),
      seed: optionalInteger(values, 'seed'),
      temperature: number(values, 'temperature'),
      name: values.name,
    });
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const params = parsed.data;
    const [{ storeCorpus }, { initBackend }, { loadModel }, { sampleModelCorpus }] = await Promise.all([
      import('../../server/corpora'),
      import('../../compute/backend'),
      import('../../compute/model/load'),
      import('../../compute/corpus/sampled'),
    ]);
    const corpus = await withDatabase(async (db) => {
      const model = await modelBySlug(db, modelSlug);
      await initBackend();
      const lm = await loadModel(model.path);
      try {
        const bar = progressBar('sampling');
        const started = performance.now();
        const sampled = await sampleModelCorpus(lm, {
          ...params,
          onProgress: ({ tokens }) => {
            const seconds = (performance.now() - started) / 1000;
            bar.update(Math.min(tokens, params.maxTokens), params.maxTokens, `tokens, ${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s`);
          },
        });
        bar.finish(`${sampled.documents} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return storeCorpus({
          modelId: model.id,
          name: params.name ?? `sampled, seed ${params.seed}, ${sampled.contexts.length * params.contextSize} tokens`,
          contexts: sampled.contexts,
          contextSize: params.contextSize,
          prependBos: params.prependBos,
          source: sampled.source,
        });
      } finally {
        lm.dispose();
      }
    });
    console.log(`corpus ${describeCorpus(corpus)}`);
  },
};
