/** What a `lexicon` command is, the command-line parser, and the value helpers the commands share. */

/** A malformed command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** An option takes a value (`--top 5`, `--top=5`) or is a switch (`--json`). */
export type Options = Record<string, { type: 'string' | 'boolean' }>;
export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  /** one word, or two ("model add") */
  name: string;
  /** the arguments after the command name, for the help text */
  usage: string;
  summary: string;
  options: Options;
  /** takes arguments that are not options (a directory) */
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<void>;
}

export interface CommandLine {
  values: Values;
  positionals: string[];
  help: boolean;
}

/**
 * Parses the arguments after the command name. An option's value is the next argument even when it starts with '-'
 * followed by a digit, '.' or ':' (`--value -3`, `--coefficients -4:4:5`); one that looks like an option must be
 * written with '=' (`--text=--json`). `--` ends the options; `-h` / `--help` asks for the command's help.
 */
export function parseCommandLine(command: Pick<Command, 'name' | 'options' | 'positionals'>, args: string[]): CommandLine {
  const values: Values = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!looksLikeOption(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, equals < 0 ? undefined : equals) : '';
    const option = Object.hasOwn(command.options, name) ? command.options[name] : undefined;
    if (!option) throw new UsageError(`unknown option ${equals < 0 ? arg : arg.slice(0, equals)} for \`lexicon ${command.name}\``);
    if (option.type === 'boolean') {
      if (equals >= 0) throw new UsageError(`--${name} is a switch and takes no value`);
      values[name] = true;
    } else if (equals >= 0) {
      values[name] = arg.slice(equals + 1);
    } else {
      const value = args[i + 1];
      if (value === undefined || looksLikeOption(value)) throw new UsageError(`--${name} needs a value`);
      values[name] = value;
      i++;
    }
  }
  if (positionals.length > 0 && !command.positionals) {
    throw new UsageError(`\`lexicon ${command.name}\` takes no argument ${JSON.stringify(positionals[0])}`);
  }
  return { values, positionals, help };
}

/** "--x", "-x": an option; "-3", "-.5", "-4:4:5", "-" and anything without a leading '-': a value. */
function looksLikeOption(arg: string): boolean {
  return /^-[^-\d.:]|^--./.test(arg);
}

/** The one argument that is not an option (a directory, a file). */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return positionals[0]!;
}

export function requiredString(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function integer(values: Values, name: string, fallback: number): number {
  const value = values[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) {
    throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  }
  return Number(value);
}

/** An integer option that has no default: undefined when not given. */
export function optionalInteger(values: Values, name: string): number | undefined {
  return values[name] === undefined ? undefined : integer(values, name, 0);
}

/** A comma-separated list of non-negative integers (token ids, features, positions). */
export function integerList(list: string, name: string): number[] {
  const parts = list.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new UsageError(`--${name} must be comma-separated non-negative integers, got "${list}"`);
  }
  return parts.map(Number);
}

export function parseIds(list: string): number[] {
  return integerList(list, 'token-ids');
}

/** A finite number, e.g. a clamp value (negative ones as written: --value -3). */
export function number(values: Values, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(parsed)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return parsed;
}

/** One of a fixed set of words; `fallback` when not given (without one, the option is required). */
export function choice<T extends string>(values: Values, name: string, choices: readonly T[], fallback?: T): T {
  const value = values[name] ?? fallback;
  if (value === undefined) throw new UsageError(`--${name} is required`);
  if (!(choices as readonly unknown[]).includes(value)) throw new UsageError(`--${name} must be ${choices.join(' or ')}, got "${value}"`);
  return value as T;
}

/** The options that give a prompt: exactly one of --text and --token-ids. */
export const PROMPT_OPTIONS: Options = {
  text: { type: 'string' },
  'token-ids': { type: 'string' },
};

export function promptInput(values: Values): { text?: string; tokenIds?: number[] } {
  const text = values.text as string | undefined;
  const tokenIds = values['token-ids'] === undefined ? undefined : parseIds(values['token-ids'] as string);
  if ((text === undefined) === (tokenIds === undefined)) throw new UsageError('give exactly one of --text and --token-ids');
  return { text, tokenIds };
}

/** --fold-ln (the default) / --no-fold-ln: logit weights with the final norm folded into W_U, or raw W_dec·W_U. */
export const FOLD_LN_OPTIONS: Options = {
  'fold-ln': { type: 'boolean' },
  'no-fold-ln': { type: 'boolean' },
};

export function foldLn(values: Values): boolean {
  if (values['fold-ln'] && values['no-fold-ln']) throw new UsageError('give at most one of --fold-ln and --no-fold-ln');
  return values['no-fold-ln'] !== true;
}

/** How a page or a command names the logit-weight convention it used. */
export function describeFoldLn(folded: boolean): string {
  return folded ? 'final norm folded into W_U (TransformerLens fold_ln)' : 'raw W_dec·W_U (final norm not folded)';
}
