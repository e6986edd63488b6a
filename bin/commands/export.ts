import { choice, onePositional, type Command } from '../args';
import { withDatabase } from '../workspace';

export const exportCommand: Command = {
  name: 'export',
  usage: '--format lexicon DIR',
  summary: 'write the wiki (pages and revisions, label proposals and votes, discussions, hypotheses and evidence, lists, teams) as the Lexicon exchange format',
  options: { format: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    choice(values, 'format', ['lexicon'] as const);
    const dir = onePositional(positionals, 'output directory');
    const { exportLexicon } = await import('../../server/exchange/lexicon-format');
    await withDatabase((db) => exportLexicon(db, dir, { log: (line) => console.log(line) }));
  },
};
