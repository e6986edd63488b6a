/**
 * Whole-number settings from the environment, with the error a mistyped one deserves. Imports nothing, so the
 * browser bundle may share modules that read settings (server/limits.ts); there `process` may not exist.
 */
export function wholeNumberSetting(name: string, fallback: number, { min = 1 }: { min?: 0 | 1 } = {}): number {
  const raw = typeof process === 'undefined' ? undefined : process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!(Number.isInteger(value) && value >= min)) throw new Error(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return value;
}
