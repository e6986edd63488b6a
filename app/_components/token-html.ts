/**
 * Tokens written as one HTML string rather than one React element each: a page shows hundreds of them, and building,
 * serialising and hydrating an element per token was most of a feature page's server time. One renderer for every
 * token line (TokenText, the feature page's example lists), on the server and in the browser alike.
 *
 * Pieces are a model's vocabulary or text an import brought in, so they may be hostile: everything taken from them
 * goes through escapeHtml (text) or escapeSingleQuoted (the one attribute that carries one), never into anything else.
 */
import { displayPiece, isPadding } from '@/server/token-piece';
import { decodeByteTokens, formatValue } from './token-format';
import styles from './tokens.module.css';

export type Shading = 'activation' | 'diverging';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ESCAPES[c]!);
/** For an attribute in single quotes: the tooltip quotes its piece in double quotes, each of which "&quot;" would make 6 bytes. */
export const escapeSingleQuoted = (s: string) => s.replace(/[&<>']/g, (c) => ESCAPES[c]!);

/**
 * A value's shade as a class of tokens.module.css: colour by letter (o: activation; b, r: a positive and a negative
 * change), strength in 9 steps. A class is a few bytes where an inline colour per token was twenty. '' when too faint.
 */
export function shadeClass(value: number | null | undefined, scale: number, shading: Shading): string {
  if (value === null || value === undefined || value === 0 || !(scale > 0)) return '';
  const strength = Math.min(1, Math.abs(value) / scale);
  if (strength < 0.02) return '';
  const colour = shading === 'activation' ? 'o' : value > 0 ? 'b' : 'r';
  return `${colour}${Math.max(1, Math.round(strength * 9))}`;
}

/**
 * Where a line shows a window of a longer context, which end has tokens left out: the line's data-cut attribute,
 * which the stylesheet shows as "…" (a span each would be 50 bytes a line).
 */
export function cutOf(start: number, end: number, n: number): 'start' | 'end' | 'both' | undefined {
  if (start > 0) return end < n ? 'both' : 'start';
  return end < n ? 'end' : undefined;
}

/** What the keyboard does on a token line, said once per line or list (aria-describedby). */
export const TOKEN_KEYS_HINT = "Arrow keys move between tokens; each token's value is its label.";

/** A token line's tokens: positions start .. start + pieces.length − 1 of a context, with a value each. */
export interface TokenLine {
  /** the pieces as the vocabulary writes them (byte tokens as <0xNN>) */
  pieces: readonly string[];
  start: number;
  /** the value shaded at position t */
  value: (t: number) => number | null;
  scale: number;
  shading: Shading;
  /** the token outlined and made the line's tab stop (else the first token) */
  focus?: number;
  /** what the value is called in the tooltip ("act", "Δloss") */
  valueName: string;
  /** more lines for position t's tooltip (the ablation loss change, the most active features) */
  details?: (t: number) => string | null;
  /**
   * Whether position t gets a span of its own; the others are plain text between the spans (default: every token).
   * Such a line leaves tabindex off all but its tab stop too: tokenLineEvents adds it when a token is hovered or
   * reached by the keys.
   */
  spanned?: (t: number) => boolean;
  /** more attributes of position t's span, already escaped (what the browser names a token from on hover) */
  attributes?: (t: number) => string;
}

/** The pieces as shown: byte tokens that make a UTF-8 character decoded into it (the rest of its bytes show nothing). */
export const shownPieces = (line: Pick<TokenLine, 'pieces'>) => decodeByteTokens(line.pieces);

/**
 * Position t's tooltip and accessible name: its piece, its value, and the line's details. `shown` is shownPieces(line),
 * passed in because a line names many tokens.
 */
export function tokenTip(line: TokenLine, shown: readonly string[], t: number): string {
  const k = t - line.start;
  const piece = line.pieces[k]!;
  const text = shown[k]!;
  // a decoded character names the byte tokens it is made of, so the boundaries stay visible on hover
  let bytes = piece;
  for (let j = k + 1; text !== piece && text !== '' && shown[j] === ''; j++) bytes += line.pieces[j];
  const value = line.value(t);
  const extra = line.details?.(t);
  const name = isPadding(piece) ? 'padding' : text === piece || text === '' ? JSON.stringify(piece) : `${JSON.stringify(text)} (${bytes})`;
  return `${name} · ${line.valueName} ${value === null ? '—' : formatValue(value)}${extra ? ` · ${extra}` : ''}`;
}

/** Where a context has no token (server/token-piece isPadding): an empty grey cell, no token to name or reach by the keys. */
const PADDING_HTML = `<span class='${styles.padding}' title=padding></span>`;

/**
 * The line's tokens as HTML. Each span carries data-pos and data-value (unquoted: numbers need no quotes, and flight
 * data escapes every quote twice; the value as the tooltip shows it, no longer); only the tab stop carries its tooltip
 * (aria-label), the others get theirs when hovered or focused, and without JavaScript the stylesheet shows data-value.
 */
export function tokenLineHtml(line: TokenLine): string {
  const shown = shownPieces(line);
  const end = line.start + line.pieces.length;
  const firstToken = line.pieces.findIndex((piece) => !isPadding(piece));
  const stop = line.focus ?? line.start + Math.max(0, firstToken);
  let html = '';
  for (let t = line.start; t < end; t++) {
    if (t !== stop && isPadding(line.pieces[t - line.start]!)) {
      html += PADDING_HTML;
      continue;
    }
    const text = escapeHtml(displayPiece(shown[t - line.start]!, true));
    if (t !== stop && line.spanned && !line.spanned(t)) {
      html += text;
      continue;
    }
    const value = line.value(t);
    const classes = [shadeClass(value, line.scale, line.shading), t === line.focus ? styles.focus : ''].filter(Boolean).join(' ');
    html +=
      `<span${classes ? ` class='${classes}'` : ''} data-pos=${t} data-value=${value === null ? "''" : formatValue(value)}${line.attributes?.(t) ?? ''}` +
      (t === stop ? ` aria-label='${escapeSingleQuoted(tokenTip(line, shown, t))}' tabindex=0>` : line.spanned ? '>' : ' tabindex=-1>') +
      `${text}</span>`;
  }
  return html;
}
