import { choice, onePositional, requiredString, type Command } from '../args';
import { withDatabase } from '../workspace';

export const exportCommand: Command = {
  name: 'export',
  usage: '--format lexicon DIR | --sae MODEL/SAE --format neuronpedia DIR',
  summary:
    'lexicon: write the wiki (pages and revisions, label proposals and votes, discussions, hypotheses and evidence, lists, teams) ' +
    "as the Lexicon exchange format; neuronpedia: write an SAE's current dashboards and its features' labels and label proposals in the Neuronpedia " +
    'export layout, as DIR/<model>/<sae>/ (features, activations and explanations batch-N.jsonl.gz, source.jsonl), each ' +
    "feature's vector its decoder row from the SAE's weights (or, without them, the row an import stored)",
  options: { format: { type: 'string' }, sae: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const dir = onePositional(positionals, 'output directory');
    const { EXPORT_FORMATS } = await import('../../server/exchange');
    const format = EXPORT_FORMATS[choice(values, 'format', Object.keys(EXPORT_FORMATS) as (keyof typeof EXPORT_FORMATS)[])];
    if (format.scope === 'wiki') {
      await withDatabase((db) => format.run(db, dir, { log: (line) => console.log(line) }));
      return;
    }
    const sae = requiredString(values, 'sae');
    const summary = await withDatabase((db) => format.run(db, { sae, dir }));
    console.log(`${summary.dir}: ${summary.features} features, ${summary.examples} examples, ${summary.explanations} explanations (labels and label proposals)`);
    const { written, from, unreadable } = summary.vectors;
    console.log(
      from === 'weights'
        ? `${written} decoder vectors from the SAE's weights`
        : `${written} decoder vectors from the rows an import stored (the SAE's weights cannot be read here: ${unreadable})`,
    );
  },
};
