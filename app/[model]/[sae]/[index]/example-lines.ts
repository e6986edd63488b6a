/**
 * Example contexts as the example lists take them, made on the server for the page (the window around the centred
 * token only) and in the browser for "expand" (the whole context, from feature.get once asked for).
 */
import type { FeatureExample, FeaturePage } from '@/server/feature-page';

/** Tokens either side of the centred token before a line is expanded, unless the list says otherwise. */
export const RADIUS = 18;

export interface ExampleLine {
  key: string;
  /** positions from .. from + pieces.length − 1 of a context of `length` tokens */
  from: number;
  length: number;
  /** the token pieces at those positions */
  pieces: string[];
  acts: number[];
  /** [k] = loss change predicting the token after position max(0, from − 1) + k with the feature ablated */
  lossDelta: number[] | null;
  maxAct: number;
  /** the position the line centres on: the peak (top examples) or the drawn token (interval examples) */
  focus: number;
  contextIndex: number;
}

/** float32 values printed as doubles carry 17 digits; six are more than the page shows. */
const short = (v: number) => Number(v.toPrecision(6));

const exampleKey = (e: FeatureExample) => `${e.kind}-${e.interval}-${e.rank}`;

/** The positions a line shows: focus ± radius, or the whole context (no radius, or one that covers it). */
export function exampleLine(e: FeatureExample, pieces: Record<number, string>, radius?: number): ExampleLine {
  const focus = e.position ?? e.maxPos;
  const n = e.tokens.length;
  const windowed = radius !== undefined && n > 2 * radius + 1;
  const from = windowed ? Math.max(0, focus - radius) : 0;
  const to = windowed ? Math.min(n, focus + radius + 1) : n;
  return {
    key: exampleKey(e),
    from,
    length: n,
    pieces: e.tokens.slice(from, to).map((id) => pieces[id] ?? `<${id}>`),
    acts: e.acts.slice(from, to).map(short),
    // the tooltip of the first shown token names the loss change made one position before it
    lossDelta: e.lossDelta?.slice(Math.max(0, from - 1), to).map(short) ?? null,
    maxAct: e.maxAct,
    focus,
    contextIndex: e.contextIndex,
  };
}

/** The example a line was made from, among a feature page's top, random and interval examples. */
export function findExample(page: Pick<FeaturePage, 'top' | 'random' | 'intervals'>, key: string): FeatureExample | undefined {
  return [...page.top, ...page.random, ...page.intervals.flatMap((i) => i.examples)].find((e) => exampleKey(e) === key);
}
