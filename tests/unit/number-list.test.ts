/** The feature and position fields' parser (app/_components/number-list.ts). */
import { describe, expect, it } from 'vitest';
import { parseNumberList } from '@/app/_components/number-list';

describe('parseNumberList', () => {
  it('reads whole numbers separated by commas or spaces, empty as undefined', () => {
    expect(parseNumberList('3, 5 8')).toEqual([3, 5, 8]);
    expect(parseNumberList(' 0,,2 , ')).toEqual([0, 2]);
    expect(parseNumberList('  ')).toBeUndefined();
  });

  it('refuses what is not a whole number', () => {
    for (const text of ['1.5', '-2', '3, x', '1e2']) expect(parseNumberList(text), text).toBeNull();
  });

  it('reads a range only where one is wanted', () => {
    expect(parseNumberList('0-99', { range: true })).toEqual({ from: 0, to: 99 });
    expect(parseNumberList('10 - 12', { range: true })).toEqual({ from: 10, to: 12 });
    expect(parseNumberList('9-3', { range: true })).toBeNull();
    expect(parseNumberList('0-99')).toBeNull();
    expect(parseNumberList('4, 7', { range: true })).toEqual([4, 7]);
  });
});
