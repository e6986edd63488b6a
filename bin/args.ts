import type { ParseArgsConfig } from 'node:util';

/** What a `lexicon` subcommand is, and the command-line parsing helpers the commands share. */

/** A malformed command line: reported with the usage text, exit code 2. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  /** the arguments after the command name, for the usage text */
  usage: string;
  summary: string;
  options: Options;
  /** takes arguments that are not options (a directory) */
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<void>;
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

/** A finite number, e.g. a clamp value (negative ones are written --value=-3). */
export function number(values: Values, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(parsed)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return parsed;
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
