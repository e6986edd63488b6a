'use client';
/**
 * Text as tokens shaded by a value per token (a feature's activation; a loss change). Colour is never the only
 * signal: every token's value shows on hover and on keyboard focus (a tooltip, and the token's accessible name),
 * the focus token (the max-activating one) is outlined and bold, and values are written out in the tooltip.
 * One tab stop per line; the arrow keys, Home and End move between its tokens. A long context shows a window
 * centred on the focus token, with a button to expand it to the whole context.
 *
 * The tokens are written as one HTML string rather than one React element each: a feature page shows hundreds of
 * them, and building, serialising and hydrating an element per token was most of the page's server time. The
 * string is the same on the server and in the browser, and React never diffs inside it; the keyboard handling
 * works on the DOM. For the same reason only the line's tab stop is named in the HTML; every other token is named
 * when it is first hovered or focused.
 */
import { useId, useMemo, useState, type FocusEvent, type KeyboardEvent } from 'react';
import { displayPiece } from '@/server/token-piece';
import { decodeByteTokens, formatValue } from './token-format';
import styles from './tokens.module.css';

export { displayPiece, formatValue };

export type Shading = 'activation' | 'diverging';

export interface TokenTextProps {
  /** token ids (looked up in `pieces`) or the pieces themselves */
  tokens: readonly number[] | readonly string[];
  pieces?: Record<number, string> | readonly string[];
  /** the value shaded at each token */
  values: readonly (number | null)[];
  /** the value of full colour (the feature's max activation; the largest |change|) */
  scale: number;
  shading?: Shading;
  /** the token to centre, outline and make the line's tab stop */
  focus?: number;
  /** tokens shown either side of `focus` until expanded (default: everything) */
  radius?: number;
  /** whether the line shows the whole context, when its owner decides (it loads the context first); else its own */
  expanded?: boolean;
  onExpandedChange?: (expanded: boolean) => void;
  /** what the value is called in the tooltip ("act", "Δloss") */
  valueName?: string;
  /** more lines for a token's tooltip (the ablation loss change, the most active features) */
  details?: (position: number) => string | null;
  /** accessible name of the whole line */
  label?: string;
  testId?: string;
}

/** #rrggbbaa: a page shows thousands of tokens, and this is half the length of rgba(…) */
function background(value: number | null, scale: number, shading: Shading): string | undefined {
  if (value === null || value === 0 || !(scale > 0)) return undefined;
  const alpha = Math.min(1, Math.abs(value) / scale);
  if (alpha < 0.02) return undefined;
  const a = Math.round(255 * (0.08 + 0.82 * alpha))
    .toString(16)
    .padStart(2, '0');
  if (shading === 'diverging') return value > 0 ? `#1f5fbf${a}` : `#c8281e${a}`;
  return `#ff8000${a}`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ESCAPES[c]!);
/** For an attribute in single quotes: the tooltip quotes its piece in double quotes, each of which "&quot;" would make 6 bytes. */
const escapeSingleQuoted = (s: string) => s.replace(/[&<>']/g, (c) => ESCAPES[c]!);

/** The pieces of tokens start..end-1 as given, and as shown (byte tokens decoded into the characters they make). */
function windowPieces(props: TokenTextProps, start: number, end: number): { raw: string[]; shown: string[] } {
  const pieces = props.pieces as Record<number, string> | undefined;
  const raw = Array.from({ length: end - start }, (_, k) => {
    const token = props.tokens[start + k]!;
    return typeof token === 'string' ? token : (pieces?.[token] ?? `<${token}>`);
  });
  return { raw, shown: decodeByteTokens(raw) };
}

/** Token t's tooltip and accessible name: its piece, its value, and the caller's details. */
function tokenTip(props: TokenTextProps, { raw, shown }: { raw: string[]; shown: string[] }, start: number, t: number): string {
  const piece = raw[t - start]!;
  const text = shown[t - start]!;
  // a decoded character names the byte tokens it is made of, so the boundaries stay visible on hover
  let bytes = piece;
  for (let k = t - start + 1; text !== piece && text !== '' && shown[k] === ''; k++) bytes += raw[k];
  const value = props.values[t] ?? null;
  const extra = props.details?.(t);
  const name = text === piece || text === '' ? JSON.stringify(piece) : `${JSON.stringify(text)} (${bytes})`;
  return `${name} · ${props.valueName ?? 'act'} ${value === null ? '—' : formatValue(value)}${extra ? ` · ${extra}` : ''}`;
}

/**
 * The spans of tokens start..end-1. Only the line's tab stop carries its tooltip (aria-label) in the HTML; the
 * others get theirs when hovered or focused (TokenText), and without JavaScript the stylesheet shows data-value.
 */
function tokenSpans(props: TokenTextProps, start: number, end: number, focus: number | undefined): string {
  const { values, scale, shading = 'activation' } = props;
  const window = windowPieces(props, start, end);
  const stop = focus ?? start;
  let html = '';
  for (let t = start; t < end; t++) {
    const value = values[t] ?? null;
    const bg = background(value, scale, shading);
    html +=
      // the line's stylesheet finds tokens by data-pos: a class on each would repeat the module's long class name
      `<span${t === focus ? ` class="${styles.focus}"` : ''}${bg ? ` style="background:${bg}"` : ''} data-pos="${t}" data-value="${value ?? ''}"` +
      `${t === stop ? ` aria-label='${escapeSingleQuoted(tokenTip(props, window, start, t))}'` : ''} tabindex="${t === stop ? 0 : -1}">` +
      `${escapeHtml(displayPiece(window.shown[t - start]!, true))}</span>`;
  }
  return html;
}

export function TokenText(props: TokenTextProps) {
  const { tokens, radius } = props;
  const n = tokens.length;
  const focus = props.focus !== undefined && props.focus >= 0 && props.focus < n ? props.focus : undefined;
  const [ownExpanded, setOwnExpanded] = useState(false);
  const expanded = props.expanded ?? ownExpanded;
  const setExpanded = props.onExpandedChange ?? setOwnExpanded;
  const windowed = radius !== undefined && focus !== undefined && !expanded && n > 2 * radius + 1;
  const start = windowed ? Math.max(0, focus! - radius!) : 0;
  const end = windowed ? Math.min(n, focus! + radius! + 1) : n;
  const id = useId();
  const more = `<span class="${styles.more}" aria-hidden="true">…</span>`;
  const html = useMemo(
    () => (start > 0 ? more : '') + tokenSpans(props, start, end, focus) + (end < n ? more : ''),
    [tokens, props.values, props.pieces, props.scale, props.shading, props.valueName, props.details, start, end, focus],
  );

  const tokenOf = (el: EventTarget | null) => (el instanceof HTMLElement && el.dataset.pos !== undefined ? el : null);
  /** Names a token when it is first hovered or focused (the HTML names only the tab stop). */
  const nameToken = (token: HTMLElement | null) => {
    if (!token || token.hasAttribute('aria-label')) return;
    token.setAttribute('aria-label', tokenTip(props, windowPieces(props, start, end), start, Number(token.dataset.pos)));
  };
  // The roving tab stop follows focus, however it got there (click, Tab, the arrow keys).
  const onFocus = (e: FocusEvent<HTMLSpanElement>) => {
    const token = tokenOf(e.target);
    if (!token) return;
    nameToken(token);
    for (const other of e.currentTarget.querySelectorAll<HTMLElement>('[tabindex="0"]')) if (other !== token) other.tabIndex = -1;
    token.tabIndex = 0;
  };
  const onKeyDown = (e: KeyboardEvent<HTMLSpanElement>) => {
    const token = tokenOf(e.target);
    const all = e.currentTarget.querySelectorAll<HTMLElement>('[data-pos]');
    if (!token || all.length === 0) return;
    const at = [...all].indexOf(token);
    const keys: Record<string, number> = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 };
    if (e.key in keys) {
      e.preventDefault();
      const next = all[Math.max(0, Math.min(all.length - 1, keys[e.key]!))]!;
      nameToken(next); // named before it takes focus, so a screen reader announces the name
      next.focus();
    }
  };

  return (
    <span className={styles.wrap} data-testid={props.testId}>
      <span
        className={styles.line}
        role="group"
        aria-label={props.label}
        aria-describedby={`${id}-hint`}
        onKeyDown={onKeyDown}
        onFocus={onFocus}
        onPointerOver={(e) => nameToken(tokenOf(e.target))}
        dangerouslySetInnerHTML={{ __html: html }}
      />
      <span id={`${id}-hint`} hidden>
        Arrow keys move between tokens; each token&apos;s value is its label.
      </span>
      {radius !== undefined && focus !== undefined && n > 2 * radius + 1 && (
        <button
          type="button"
          className={styles.expand}
          aria-expanded={expanded}
          title={expanded ? 'Show the window around the peak' : `Show all ${n} tokens of the context`}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded ? 'collapse' : 'expand'}
        </button>
      )}
    </span>
  );
}
