'use client';
/**
 * Text as tokens shaded by a value per token (a feature's activation; a loss change). Colour is never the only
 * signal: every token's value shows on hover and on keyboard focus (a tooltip, and the token's accessible name),
 * the focus token (the max-activating one) is outlined and bold, and values are written out in the tooltip.
 * One tab stop per line; the arrow keys, Home and End move between its tokens. A long context shows a window
 * centred on the focus token, with a button to expand it to the whole context.
 */
import { useId, useRef, useState, type KeyboardEvent } from 'react';
import { displayPiece, formatValue } from './token-format';
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
  /** what the value is called in the tooltip ("act", "Δloss") */
  valueName?: string;
  /** more lines for a token's tooltip (the ablation loss change, the most active features) */
  details?: (position: number) => string | null;
  /** accessible name of the whole line */
  label?: string;
  testId?: string;
}

function background(value: number | null, scale: number, shading: Shading): string | undefined {
  if (value === null || value === 0 || !(scale > 0)) return undefined;
  const alpha = Math.min(1, Math.abs(value) / scale);
  if (alpha < 0.02) return undefined;
  const a = (0.08 + 0.82 * alpha).toFixed(2);
  if (shading === 'diverging') return value > 0 ? `rgba(31, 95, 191, ${a})` : `rgba(200, 40, 30, ${a})`;
  return `rgba(255, 128, 0, ${a})`;
}

export function TokenText(props: TokenTextProps) {
  const { tokens, values, scale, shading = 'activation', valueName = 'act', radius } = props;
  const n = tokens.length;
  const focus = props.focus !== undefined && props.focus >= 0 && props.focus < n ? props.focus : undefined;
  const [expanded, setExpanded] = useState(false);
  const windowed = radius !== undefined && focus !== undefined && !expanded && n > 2 * radius + 1;
  const start = windowed ? Math.max(0, focus! - radius!) : 0;
  const end = windowed ? Math.min(n, focus! + radius! + 1) : n;
  const [active, setActive] = useState<number>(focus ?? start);
  const line = useRef<HTMLSpanElement>(null);
  const id = useId();

  const pieceAt = (t: number): string => {
    const token = tokens[t]!;
    if (typeof token === 'string') return token;
    const pieces = props.pieces as Record<number, string> | readonly string[] | undefined;
    return (pieces as Record<number, string> | undefined)?.[token] ?? `<${token}>`;
  };

  const move = (to: number) => {
    const target = Math.max(start, Math.min(end - 1, to));
    setActive(target);
    const el = line.current?.querySelector<HTMLElement>(`[data-pos="${target}"]`);
    el?.focus();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLSpanElement>) => {
    const keys: Record<string, number> = { ArrowRight: active + 1, ArrowLeft: active - 1, Home: start, End: end - 1 };
    if (e.key in keys) {
      e.preventDefault();
      move(keys[e.key]!);
    }
  };
  const tabStop = active >= start && active < end ? active : (focus ?? start);

  const spans = [];
  for (let t = start; t < end; t++) {
    const value = values[t] ?? null;
    const piece = pieceAt(t);
    const extra = props.details?.(t);
    const tip = `${JSON.stringify(piece)} · ${valueName} ${value === null ? '—' : formatValue(value)}${extra ? ` · ${extra}` : ''}`;
    const classes = [styles.tok];
    if (t === focus) classes.push(styles.focus);
    if (value !== null && value !== 0) classes.push(styles.nonzero);
    spans.push(
      <span
        key={t}
        className={classes.join(' ')}
        style={{ background: background(value, scale, shading) }}
        data-pos={t}
        data-value={value ?? ''}
        aria-label={tip}
        tabIndex={t === tabStop ? 0 : -1}
        onFocus={() => setActive(t)}
      >
        {displayPiece(piece, true)}
      </span>,
    );
  }

  return (
    <span className={styles.wrap} data-testid={props.testId}>
      <span
        ref={line}
        className={styles.line}
        role="group"
        aria-label={props.label}
        aria-describedby={`${id}-hint`}
        onKeyDown={onKeyDown}
      >
        {start > 0 && <span className={styles.more} aria-hidden>…</span>}
        {spans}
        {end < n && <span className={styles.more} aria-hidden>…</span>}
      </span>
      <span id={`${id}-hint`} hidden>
        Arrow keys move between tokens; each token&apos;s value is its label.
      </span>
      {radius !== undefined && focus !== undefined && n > 2 * radius + 1 && (
        <button
          type="button"
          className={styles.expand}
          aria-expanded={expanded}
          title={expanded ? 'Show the window around the peak' : `Show all ${n} tokens of the context`}
          onClick={() => setExpanded((x) => !x)}
        >
          {expanded ? 'collapse' : 'expand'}
        </button>
      )}
    </span>
  );
}
