import { requiredString, type Command } from '../args';
import { describeCorpus, modelBySlug, withDatabase } from '../workspace';

export const corpusList: Command = {
  name: 'corpus list',
  usage: '--model SLUG',
  summary: "the model's corpora (id, name, size, content hash)",
  options: { model: { type: 'string' } },
  async run(values) {
    const modelSlug = requiredString(values, 'model');
    const { listCorpora } = await import('../../server/corpora');
    const list = await withDatabase(async (db) => listCorpora(db, (await modelBySlug(db, modelSlug)).id));
    if (list.length === 0) console.log(`no corpora for ${modelSlug}; import one with \`lexicon corpus import\` or sample one with \`lexicon corpus sample\``);
    for (const corpus of list) console.log(describeCorpus(corpus));
  },
};
