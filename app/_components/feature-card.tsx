/**
 * A feature's card as lists of features show it (server/feature-cards.ts): the tokens it peaks on and raises, and a
 * one-line snippet of its top example. Written as HTML strings, like token lines (./token-html): the feature table
 * puts 50 of them in one HTML body (./feature-rows), and server pages and client components show the same markup
 * through TopTokens and CardSnippet. Everything taken from a piece goes through escapeHtml or escapeSingleQuoted.
 */
import type { CardEvidence, CardToken, Snippet } from '@/server/feature-cards';
import { displayPiece } from '@/server/token-piece';
import { escapeHtml, escapeSingleQuoted } from './token-html';
import { decodeByteTokens, formatValue } from './token-format';

/** What a card shows where it has nothing. */
export const NOTHING_HTML = '<span class="muted">—</span>';

/**
 * One kind of chip: a class (the stylesheet colours the chips by it), what the kind is called, and what its values
 * are, said once on the name (a table shows ten chips a row: in every chip's tooltip it was a third of the rows).
 */
const CHIPS = {
  peak: { name: 'fires on', values: 'each token’s max activation' },
  up: { name: 'raises', values: 'each token’s logit weight' },
} as const;

function chipsHtml(tokens: CardToken[], kind: keyof typeof CHIPS): string {
  if (tokens.length === 0) return '';
  const { name, values } = CHIPS[kind];
  // the tooltip quotes the piece (its spaces show) in double quotes, so the attribute is single-quoted
  const chip = (t: CardToken) => `<code title='${escapeSingleQuoted(`${JSON.stringify(t.piece)}: ${formatValue(t.value)}`)}'>${escapeHtml(displayPiece(t.piece))}</code>`;
  return `<span class="card-chips ${kind}"><span class="muted" title="${values}">${name} </span>${tokens.map(chip).join('')}</span>`;
}

/** The distinct tokens its top examples peak on, then the tokens whose logits it raises most. */
export function topTokensHtml(card: CardEvidence): string {
  if (card.topTokens.length === 0 && card.logits.length === 0) return NOTHING_HTML;
  return `<span class="card-tokens" data-testid="top-tokens">${chipsHtml(card.topTokens, 'peak')}${chipsHtml(card.logits, 'up')}</span>`;
}

/** The top example around its peak on one line: the text before is cut on the left, the text after on the right. */
export function snippetHtml(snippet: Snippet | null): string {
  if (!snippet) return NOTHING_HTML;
  const text = decodeByteTokens(snippet.pieces).map((p) => displayPiece(p, true));
  const before = (snippet.clippedStart ? '…' : '') + text.slice(0, snippet.at).join('');
  const after = text.slice(snippet.at + 1).join('') + (snippet.clippedEnd ? '…' : '');
  return (
    `<span class="snippet" data-testid="snippet" title="${escapeHtml(`${text.join('')} (peak ${formatValue(snippet.maxAct)})`)}">` +
    `<span class="snippet-before"><span dir="ltr">${escapeHtml(before)}</span></span><mark>${escapeHtml(text[snippet.at] ?? '')}</mark>` +
    `<span class="snippet-after">${escapeHtml(after)}</span></span>`
  );
}

/** Markup from the renderers above in a React tree (its span lays out as if it were not there: display: contents). */
function Markup({ html }: { html: string }) {
  return <span className="markup" dangerouslySetInnerHTML={{ __html: html }} />;
}

export function TopTokens({ card }: { card: CardEvidence }) {
  return <Markup html={topTokensHtml(card)} />;
}

export function CardSnippet({ snippet }: { snippet: Snippet | null }) {
  return <Markup html={snippetHtml(snippet)} />;
}
