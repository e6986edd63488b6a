import { choice, onePositional, type Command } from '../args';
import { withDatabase } from '../workspace';

export const importCommand: Command = {
  name: 'import',
  usage: '--format lexicon DIR',
  summary: 'restore a Lexicon export into a wiki with its models and SAEs registered and no content yet (all or nothing)',
  options: { format: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    choice(values, 'format', ['lexicon'] as const);
    const dir = onePositional(positionals, 'export directory');
    const { importLexicon } = await import('../../server/exchange/lexicon-format');
    await withDatabase((db) => importLexicon(db, dir, { log: (line) => console.log(line) }));
  },
};
