'use client';
/**
 * Text as tokens shaded by a value per token (a feature's activation; a loss change). Colour is never the only
 * signal: every token's value shows on hover and on keyboard focus (a tooltip, and the token's accessible name),
 * the focus token (the max-activating one) is outlined and bold, and values are written out in the tooltip.
 * One tab stop per line; the arrow keys, Home and End move between its tokens. A long context shows a window
 * centred on the focus token, with a button to expand it to the whole context.
 *
 * The tokens are one HTML string (./token-html), the same on the server and in the browser; React never diffs inside
 * it, and the keyboard handling works on the DOM.
 */
import { useId, useMemo, useState, type FocusEvent, type KeyboardEvent, type PointerEvent } from 'react';
import { displayPiece, pieceOf } from '@/server/token-piece';
import { cutOf, shownPieces, TOKEN_KEYS_HINT, tokenLineHtml, tokenTip, type Shading, type TokenLine } from './token-html';
import { formatValue } from './token-format';
import styles from './tokens.module.css';

export { displayPiece, formatValue };

export type { Shading };

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

/** The line TokenText shows: tokens start..end-1 of its props, every one a span. */
function lineOf(props: TokenTextProps, start: number, end: number, focus: number | undefined): TokenLine {
  const pieces = props.pieces as Record<number, string> | undefined;
  return {
    pieces: Array.from({ length: end - start }, (_, k) => {
      const token = props.tokens[start + k]!;
      return typeof token === 'string' ? token : pieceOf(pieces, token);
    }),
    start,
    value: (t) => props.values[t] ?? null,
    scale: props.scale,
    shading: props.shading ?? 'activation',
    focus,
    valueName: props.valueName ?? 'act',
    details: props.details,
  };
}

/**
 * What makes token lines usable from the keyboard and by hover, for handlers on the line or on any element around
 * lines (events bubble): one tab stop per line that follows focus, the arrow keys, Home and End between the line's
 * tokens, and each token named (its tooltip, `name`) when first hovered or reached, since the HTML names only the stop.
 */
export function tokenLineEvents(name: (token: HTMLElement) => string) {
  const tokenOf = (el: EventTarget | null) => (el instanceof HTMLElement && el.dataset.pos !== undefined ? el : null);
  /** named, and focusable (a long line's HTML leaves tabindex off all but its stop) */
  const nameToken = (token: HTMLElement | null) => {
    if (!token) return;
    if (!token.hasAttribute('aria-label')) token.setAttribute('aria-label', name(token));
    if (!token.hasAttribute('tabindex')) token.tabIndex = -1;
  };
  return {
    onPointerOver: (e: PointerEvent<HTMLElement>) => nameToken(tokenOf(e.target)),
    // The roving tab stop follows focus, however it got there (click, Tab, the arrow keys).
    onFocus: (e: FocusEvent<HTMLElement>) => {
      const token = tokenOf(e.target);
      if (!token) return;
      nameToken(token);
      for (const other of token.parentElement!.querySelectorAll<HTMLElement>('[tabindex="0"]')) if (other !== token) other.tabIndex = -1;
      token.tabIndex = 0;
    },
    onKeyDown: (e: KeyboardEvent<HTMLElement>) => {
      const token = tokenOf(e.target);
      if (!token) return;
      const all = [...token.parentElement!.querySelectorAll<HTMLElement>(':scope > [data-pos]')];
      const at = all.indexOf(token);
      const keys: Record<string, number> = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 };
      if (e.key in keys) {
        e.preventDefault();
        const next = all[Math.max(0, Math.min(all.length - 1, keys[e.key]!))]!;
        nameToken(next); // named before it takes focus, so a screen reader announces the name
        next.focus();
      }
    },
  };
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
  const line = useMemo(
    () => lineOf(props, start, end, focus),
    [tokens, props.values, props.pieces, props.scale, props.shading, props.valueName, props.details, start, end, focus],
  );
  const html = useMemo(() => tokenLineHtml(line), [line]);
  const events = useMemo(() => tokenLineEvents((token) => tokenTip(line, shownPieces(line), Number(token.dataset.pos))), [line]);

  return (
    <span className={styles.wrap} data-testid={props.testId}>
      <span
        className={styles.line}
        role="group"
        aria-label={props.label}
        aria-describedby={`${id}-hint`}
        data-cut={cutOf(start, end, n)}
        {...events}
        dangerouslySetInnerHTML={{ __html: html }}
      />
      <span id={`${id}-hint`} hidden>
        {TOKEN_KEYS_HINT}
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
