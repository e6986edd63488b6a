import type { Histogram } from './types';

/** The n + 1 edges of n equal-width bins over [lo, hi]. */
export function binEdges(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo + ((hi - lo) * i) / n));
}

/** The bin of `value` among n equal-width bins over [lo, hi]; values outside go to the first or last bin. */
export function binIndex(value: number, lo: number, hi: number, n: number): number {
  if (!(hi > lo)) return 0;
  return Math.min(n - 1, Math.max(0, Math.floor(((value - lo) / (hi - lo)) * n)));
}

/** A histogram of `values` over their own range [min, max]. */
export function histogramOf(values: ArrayLike<number>, bins: number): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) counts[binIndex(values[i], lo, hi, bins)]++;
  return { edges: binEdges(lo, hi, bins), counts };
}
