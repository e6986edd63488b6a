import path from 'node:path';
import { onePositional, optionalInteger, requiredString, type Command } from '../args';
import { describeCorpus, modelBySlug, withDatabase } from '../workspace';

export const corpusImport: Command = {
  name: 'corpus import',
  usage: 'FILE --model SLUG [--context N] [--no-bos] [--sae SLUG] [--name NAME]',
  summary:
    'import a corpus: plain text (a document per blank-line-separated block), JSONL with a "text" (or "tokens") field, or .ids ' +
    "(token ids, a document per line); tokenized with the model's tokenizer into contexts of the SAE's context_size, BOS as its prepend_bos says",
  options: { model: { type: 'string' }, context: { type: 'string' }, 'no-bos': { type: 'boolean' }, sae: { type: 'string' }, name: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const file = path.resolve(onePositional(positionals, 'corpus file'));
    const modelSlug = requiredString(values, 'model');
    const contextSize = optionalInteger(values, 'context');
    const { importCorpusFile } = await import('../../server/import-corpus');
    const corpus = await withDatabase(async (db) =>
      importCorpusFile(db, await modelBySlug(db, modelSlug), file, {
        contextSize,
        prependBos: values['no-bos'] ? false : undefined,
        saeSlug: values.sae as string | undefined,
        name: values.name as string | undefined,
      }),
    );
    console.log(`corpus ${describeCorpus(corpus)}`);
  },
};
