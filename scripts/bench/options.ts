/** The benchmarks' command-line options (`--name value`, `--switch`), each with its default. */

const argv = process.argv.slice(2);

/** The value after `--name`, else the fallback. */
export function option(name: string, fallback: string): string {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && argv[at + 1] !== undefined ? argv[at + 1]! : fallback;
}

export function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}

/**
 * A count (requests, runs): a whole number of at least `min` (1 unless said), else the benchmark stops with a message
 * naming the option, rather than measuring nothing or failing halfway.
 */
export function count(name: string, fallback: number, min = 1): number {
  const value = option(name, String(fallback));
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    console.error(`--${name} must be a whole number of at least ${min}, got "${value}"`);
    process.exit(2);
  }
  return Number(value);
}
