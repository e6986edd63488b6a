/**
 * Where two JSON-like values differ: numbers by more than `tolerance` relative to the larger, anything else at all.
 * Each difference is named by its path, so that an assertion on the list says where they differ.
 */
export function relativeDifferences(actual: unknown, expected: unknown, tolerance: number, path = ''): string[] {
  if (typeof actual === 'number' && typeof expected === 'number') {
    return Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(actual), Math.abs(expected)) ? [] : [`${path}: ${actual} ≠ ${expected}`];
  }
  if (actual !== null && expected !== null && typeof actual === 'object' && typeof expected === 'object') {
    const [a, e] = [actual as Record<string, unknown>, expected as Record<string, unknown>];
    return [...new Set([...Object.keys(a), ...Object.keys(e)])].flatMap((key) => relativeDifferences(a[key], e[key], tolerance, `${path}.${key}`));
  }
  return Object.is(actual, expected) ? [] : [`${path}: ${String(actual)} ≠ ${String(expected)}`];
}
