/**
 * The benchmarks' command-line options (`--name value`, `--switch`), each with its default. A value that does not fit
 * stops the benchmark with a message naming the option, rather than measuring nothing or failing halfway.
 */

const argv = process.argv.slice(2);

/** The value after `--name`, else the fallback. */
export function option(name: string, fallback: string): string {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && argv[at + 1] !== undefined ? argv[at + 1]! : fallback;
}

export function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}

function refuse(name: string, what: string, value: string): never {
  console.error(`--${name} must be ${what}, got "${value}"`);
  process.exit(2);
}

/** A count (requests, runs, features): a whole number of at least `min`, 1 unless said. */
export function integer(name: string, fallback: number, min = 1): number {
  const value = option(name, String(fallback));
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) refuse(name, `a whole number of at least ${min}`, value);
  return Number(value);
}

/** An amount (seconds, megabytes): a number of at least 0, above 0 when `positive`. */
export function amount(name: string, fallback: number, { positive = false } = {}): number {
  const value = option(name, String(fallback));
  const parsed = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (positive && parsed === 0)) refuse(name, positive ? 'a number above 0' : 'a number of at least 0', value);
  return parsed;
}
