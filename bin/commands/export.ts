import { onePositional, requiredString, type Command } from '../args';
import { withDatabase } from '../workspace';

export const exportCommand: Command = {
  name: 'export',
  usage: '--sae MODEL/SAE --format neuronpedia DIR',
  summary:
    "write an SAE's current dashboards and its features' labels in the Neuronpedia export layout, as DIR/<model>/<sae>/ " +
    '(features, activations and explanations batch-N.jsonl.gz, source.jsonl)',
  options: { format: { type: 'string' }, sae: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const dir = onePositional(positionals, 'output directory');
    const format = requiredString(values, 'format');
    const sae = requiredString(values, 'sae');
    const { EXPORT_FORMATS, formatOf } = await import('../../server/exchange');
    const exporter = formatOf(EXPORT_FORMATS, format);
    const summary = await withDatabase((db) => exporter(db, { sae, dir }));
    console.log(`${summary.dir}: ${summary.features} features, ${summary.examples} examples, ${summary.explanations} labels as explanations`);
  },
};
