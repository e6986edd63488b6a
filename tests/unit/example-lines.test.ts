import { describe, expect, it } from 'vitest';
import { exampleLine, findExample } from '@/app/[model]/[sae]/[index]/example-lines';
import type { FeatureExample } from '@/server/feature-page';

const N = 128;
const pieces = Object.fromEntries(Array.from({ length: N }, (_, id) => [id, `p${id}`]));
const example = (over: Partial<FeatureExample>): FeatureExample => ({
  kind: 'top',
  interval: -1,
  rank: 0,
  contextIndex: 7,
  position: null,
  maxAct: 3,
  maxPos: 60,
  tokens: Array.from({ length: N }, (_, t) => t),
  acts: Array.from({ length: N }, (_, t) => Math.fround(t / 3)),
  lossDelta: Array.from({ length: N }, (_, t) => -t),
  ...over,
});

describe('example lines', () => {
  it('carry only the window around the peak, lossDelta from one position before it', () => {
    const line = exampleLine(example({}), pieces, 18);
    expect(line).toMatchObject({ key: 'top--1-0', from: 42, length: N, focus: 60, contextIndex: 7 });
    expect(line.pieces).toEqual(Array.from({ length: 37 }, (_, k) => `p${42 + k}`));
    // float32 values come back with six significant digits, not the seventeen of a double
    expect(line.acts[0]).toBe(14);
    expect(line.acts[1]).toBe(14.3333);
    // token 42's tooltip names the change made at position 41
    expect(line.lossDelta).toHaveLength(38);
    expect(line.lossDelta![0]).toBe(-41);
  });

  it('centre an interval example on its drawn token, clipped at the context ends', () => {
    const line = exampleLine(example({ kind: 'interval', interval: 3, rank: 2, position: 5, lossDelta: null }), pieces, 18);
    expect(line).toMatchObject({ key: 'interval-3-2', from: 0, focus: 5, lossDelta: null });
    expect(line.pieces).toHaveLength(24);
  });

  it('carry the whole context without a radius, or when the radius covers it', () => {
    expect(exampleLine(example({}), pieces).pieces).toHaveLength(N);
    const short = example({ tokens: [1, 2, 3, 999], acts: [0, 1, 2, 0], maxPos: 2 });
    expect(exampleLine(short, pieces, 2)).toMatchObject({ from: 0, pieces: ['p1', 'p2', 'p3', '<999>'] });
  });

  it('are found again among a page’s examples by their key', () => {
    const top = example({});
    const drawn = example({ kind: 'interval', interval: 2, rank: 1, position: 9 });
    const page = { top: [top], random: [], intervals: [{ lo: 0, hi: 1, count: 5, examples: [drawn] }] };
    expect(findExample(page, 'interval-2-1')).toBe(drawn);
    expect(findExample(page, 'top--1-0')).toBe(top);
    expect(findExample(page, 'interval-2-0')).toBeUndefined();
  });
});
