/**
 * A feature's card as lists of features show it (server/feature-cards.ts): the tokens it peaks on and raises, and a
 * one-line snippet of its top example. Plain markup, for server pages and client components alike.
 */
import type { CardEvidence, CardToken, Snippet } from '@/server/feature-cards';
import { displayPiece } from '@/server/token-piece';
import { decodeByteTokens, formatValue } from './token-format';

function Chips({ tokens, kind, name }: { tokens: CardToken[]; kind: 'peak' | 'up'; name: string }) {
  if (tokens.length === 0) return null;
  return (
    <span className="card-chips">
      <span className="muted">{name} </span>
      {tokens.map((t, i) => (
        <code key={i} className={`tok ${kind}`} title={`${JSON.stringify(t.piece)}: ${kind === 'peak' ? 'max activation' : 'logit weight'} ${formatValue(t.value)}`}>
          {displayPiece(t.piece)}
        </code>
      ))}
    </span>
  );
}

/** The distinct tokens its top examples peak on, then the tokens whose logits it raises most. */
export function TopTokens({ card }: { card: CardEvidence }) {
  if (card.topTokens.length === 0 && card.logits.length === 0) return <span className="muted">—</span>;
  return (
    <span className="card-tokens" data-testid="top-tokens">
      <Chips tokens={card.topTokens} kind="peak" name="fires on" />
      <Chips tokens={card.logits} kind="up" name="raises" />
    </span>
  );
}

/** The top example around its peak on one line: the text before is cut on the left, the text after on the right. */
export function CardSnippet({ snippet }: { snippet: Snippet | null }) {
  if (!snippet) return <span className="muted">—</span>;
  const text = decodeByteTokens(snippet.pieces).map((p) => displayPiece(p, true));
  const before = (snippet.clippedStart ? '…' : '') + text.slice(0, snippet.at).join('');
  const after = text.slice(snippet.at + 1).join('') + (snippet.clippedEnd ? '…' : '');
  return (
    <span className="snippet" data-testid="snippet" title={`${text.join('')} (peak ${formatValue(snippet.maxAct)})`}>
      <span className="snippet-before">
        <span dir="ltr">{before}</span>
      </span>
      <mark>{text[snippet.at]}</mark>
      <span className="snippet-after">{after}</span>
    </span>
  );
}
