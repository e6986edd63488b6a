import { UsageError, type Command } from '../args';

export const help: Command = {
  name: 'help',
  usage: '[COMMAND]',
  summary: 'every command with its usage and what it does, or one command (`lexicon COMMAND --help` says the same)',
  options: {},
  positionals: true,
  async run(_values, positionals) {
    // the table lists this command, so it is read when the command runs
    const { COMMANDS } = await import('./index');
    if (positionals.length === 0) {
      console.log(commandList(COMMANDS));
      return;
    }
    const name = positionals.join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command "${name}"`);
    console.log(commandHelp(command));
  },
};

/** `lexicon help`: every command, its usage and summary. */
export function commandList(commands: readonly Command[]): string {
  return ['usage:', ...commands.map((c) => `  lexicon ${c.name} ${c.usage}\n      ${c.summary}`)].join('\n');
}

/** `lexicon help COMMAND`, `lexicon COMMAND --help`. */
export function commandHelp(command: Command): string {
  return `usage: lexicon ${command.name} ${command.usage}\n  ${command.summary}`;
}
