/**
 * A feature's example contexts as HTML, one line each: the centred token's value, then the tokens around it. Made on
 * the server for the page and for ./lines (the window around the centred token; server/html-cache keeps it) and in
 * the browser for "expand" (the whole context, from feature.get once asked for), by the same code.
 *
 * Most tokens of an example do not fire: only those with an activation (or a loss change) and the centred token get a
 * span, with their value; the runs between them are plain text. Attributes are unquoted or single-quoted: fewer bytes.
 */
import { cutOf, escapeHtml, tokenLineHtml, type TokenLine } from '../../../_components/token-html';
import { formatValue } from '../../../_components/token-format';
import tokenStyles from '../../../_components/tokens.module.css';
import type { FeatureExample, FeatureInterval, FeaturePage } from '@/server/feature-page';
import { pieceOf } from '@/server/token-piece';

/** Tokens either side of the centred token before a line is expanded, unless the list says otherwise. */
export const RADIUS = 18;

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
  const raw = e.tokens.slice(start, end).map((id) => pieceOf(pieces, id));
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
        `<li data-testid=example><span class=mono title='context ${e.contextIndex}'>${formatValue(e.acts[e.position ?? e.maxPos] ?? e.maxAct)}</span>` +
        `<span class='${tokenStyles.line}' role=group aria-label='${tokens.label}' aria-describedby=${hintId}${tokens.cut ? ` data-cut=${tokens.cut}` : ''}>` +
        `${tokens.html}</span></li>`
      );
    })
    .join('');
}

/** The name a token of an example line gets when hovered or focused, from what its span carries. */
export function exampleTokenTip(token: HTMLElement): string {
  const { value, d, p } = token.dataset;
  const text = JSON.stringify(token.textContent);
  return `${p ? `${text} (${p})` : text} · act ${value ? formatValue(Number(value)) : '—'}${d ? ` · ${lossDetail(Number(d))}` : ''}`;
}

/**
 * An example list by name, as pages and ./lines name them: `top`, `random` or `i{N}` (quantile interval N, as stored),
 * and `.{limit}` for only its first examples.
 */
const LIST_NAME = /^(top|random|i(\d{1,3}))(?:\.(\d{1,4}))?$/;

/** The examples a list name names, or null when it names no list. */
export function selectExamples(page: Pick<FeaturePage, 'top' | 'random' | 'intervals'>, list: string): FeatureExample[] | null {
  const m = LIST_NAME.exec(list);
  if (!m) return null;
  const examples =
    m[1] === 'top' ? page.top : m[1] === 'random' ? page.random : (page.intervals.find((i) => i.index === Number(m[2]))?.examples ?? []);
  return m[3] === undefined ? examples : examples.slice(0, Number(m[3]));
}

/** The id of the element, one per page, that says what the keys do on example lines (ExampleKeysHint). */
export const EXAMPLE_KEYS_HINT_ID = 'example-keys';

/** The name of a quantile interval's list, of its first `limit` examples if given. */
export const intervalList = (interval: Pick<FeatureInterval, 'index'>, limit?: number) => `i${interval.index}${limit === undefined ? '' : `.${limit}`}`;
