/**
 * A feature's example contexts as HTML, one line each: the centred token's value, then the tokens around it. Made on
 * the server for the page (the window around the centred token; ./example-cache keeps it) and in the browser for
 * "expand" (the whole context, from feature.get once asked for), by the same code.
 *
 * Most tokens of an example do not fire: only those with an activation (or a loss change) and the centred token get a
 * span, with their value; the runs between them are plain text. Attributes are unquoted or single-quoted, because the
 * page's flight data carries this HTML once more as a string, where each double quote is escaped twice.
 */
import { cutOf, escapeHtml, tokenLineHtml, type TokenLine } from '../../../_components/token-html';
import { formatValue } from '../../../_components/token-format';
import tokenStyles from '../../../_components/tokens.module.css';
import type { FeatureExample, FeaturePage } from '@/server/feature-page';

/** Tokens either side of the centred token before a line is expanded, unless the list says otherwise. */
export const RADIUS = 18;

export const exampleKey = (e: FeatureExample) => `${e.kind}-${e.interval}-${e.rank}`;

/** The loss change of predicting token t (made at t − 1) with the feature ablated, as a tooltip says it. */
export const lossDetail = (delta: number) => `ablated: Δloss ${delta >= 0 ? '+' : ''}${formatValue(delta)}`;

/** The loss change of predicting token t with the feature ablated (top examples of an ablated run), or undefined. */
const lossDeltaAt = (e: FeatureExample, t: number) => (t > 0 ? e.lossDelta?.[t - 1] : undefined);

/** The positions a line shows: focus ± radius, or the whole context (no radius, or one that covers it). */
function exampleTokenLine(e: FeatureExample, pieces: Record<number, string>, scale: number, radius?: number): TokenLine {
  const focus = e.position ?? e.maxPos;
  const n = e.tokens.length;
  const windowed = radius !== undefined && n > 2 * radius + 1;
  const start = windowed ? Math.max(0, focus - radius) : 0;
  const end = windowed ? Math.min(n, focus + radius + 1) : n;
  const raw = e.tokens.slice(start, end).map((id) => pieces[id] ?? `<${id}>`);
  return {
    pieces: raw,
    start,
    value: (t) => e.acts[t] ?? null,
    scale,
    shading: 'activation',
    focus,
    valueName: 'act',
    details: (t) => {
      const delta = lossDeltaAt(e, t);
      return delta === undefined ? null : lossDetail(delta);
    },
    spanned: (t) => e.acts[t] !== 0 || !!lossDeltaAt(e, t),
    attributes: (t) => {
      const delta = lossDeltaAt(e, t);
      // a byte token's span shows the character its bytes make (or nothing): its tooltip names the bytes
      const piece = raw[t - start]!;
      return (delta === undefined ? '' : ` data-d=${delta}`) + (/^<0x[0-9A-Fa-f]{2}>$/.test(piece) ? ` data-p='${escapeHtml(piece)}'` : '');
    },
  };
}

/**
 * An example's tokens, windowed or the whole context; the line's accessible name, which says which of the context's
 * tokens it shows; and which ends it cuts (token-html cutOf).
 */
export function exampleTokens(e: FeatureExample, pieces: Record<number, string>, scale: number, radius?: number): { html: string; label: string; cut?: string } {
  const line = exampleTokenLine(e, pieces, scale, radius);
  const end = line.start + line.pieces.length;
  const n = e.tokens.length;
  return {
    html: tokenLineHtml(line),
    label: `context ${e.contextIndex}, peak ${formatValue(e.maxAct)}, tokens ${line.start + 1}–${end} of ${n}`,
    cut: cutOf(line.start, end, n),
  };
}

/**
 * The <li>s of an example list. `hintId` names the element that says what the keys do. A line that leaves tokens
 * out gets its expand button from the page's script (./examples): without it, the button could do nothing.
 */
export function exampleListHtml(examples: FeatureExample[], pieces: Record<number, string>, scale: number, radius: number, hintId: string): string {
  return examples
    .map((e) => {
      const tokens = exampleTokens(e, pieces, scale, radius);
      return (
        `<li data-testid=example data-key=${exampleKey(e)}><span class=mono title='context ${e.contextIndex}'>${formatValue(e.acts[e.position ?? e.maxPos] ?? e.maxAct)}</span>` +
        `<span class='${tokenStyles.line}' role=group aria-label='${tokens.label}' aria-describedby=${hintId}${tokens.cut ? ` data-cut=${tokens.cut}` : ''}>` +
        `${tokens.html}</span></li>`
      );
    })
    .join('');
}

/**
 * The page's flight data carries the lines once more, in inline scripts that write every < and > as \u003c and
 * \u003e (6 bytes each, two per tag): the lines travel with them as two private-use characters instead (3 bytes
 * each), which escapeHtml never lets through from a piece, and fromFlight puts back.
 */
const FLIGHT_TAGS: Record<string, string> = { '<': '\uE000', '>': '\uE001', '\uE000': '<', '\uE001': '>' };
export const toFlight = (html: string) => html.replace(/[<>]/g, (c) => FLIGHT_TAGS[c]!);
export const fromFlight = (lines: string) => lines.replace(/[\uE000\uE001]/g, (c) => FLIGHT_TAGS[c]!);

/** The name a token of an example line gets when hovered or focused, from what its span carries. */
export function exampleTokenTip(token: HTMLElement): string {
  const { value, d, p } = token.dataset;
  const text = JSON.stringify(token.textContent);
  return `${p ? `${text} (${p})` : text} · act ${value ? formatValue(Number(value)) : '—'}${d ? ` · ${lossDetail(Number(d))}` : ''}`;
}

/** The example a line was made from, among a feature page's top, random and interval examples. */
export function findExample(page: Pick<FeaturePage, 'top' | 'random' | 'intervals'>, key: string): FeatureExample | undefined {
  return [...page.top, ...page.random, ...page.intervals.flatMap((i) => i.examples)].find((e) => exampleKey(e) === key);
}
