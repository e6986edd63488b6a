'use client';
/**
 * Search by inference: the SAE's features that fire most on a text, each linked to its page, with the text shaded by
 * one of them. Clicking a token re-ranks the listed features by their activation there (in the browser: it orders
 * the features this job found, it does not search the SAE again).
 */
import Link from 'next/link';
import { useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { JobResult } from '@/jobs';
import { formatFraction } from '../token-format';
import { displayPiece, formatValue, TokenText } from '../tokens';
import styles from './results.module.css';

type Result = JobResult<'top-features'>;

/** The position of the token an event came from (the token spans carry data-pos), or null. */
function positionOf(target: EventTarget | null): number | null {
  const pos = target instanceof HTMLElement ? target.closest<HTMLElement>('[data-pos]')?.dataset.pos : undefined;
  return pos === undefined ? null : Number(pos);
}

export function TopFeaturesView({
  result,
  address,
  rank,
  testId,
}: {
  result: Result;
  address: { model: string; sae: string };
  /** what the job ranked by */
  rank: 'max' | 'sum';
  testId: string;
}) {
  const [shadedBy, setShadedBy] = useState<number | null>(null);
  const [at, setAt] = useState<number | null>(null);
  if (result.features.length === 0) {
    return (
      <p className="muted" data-testid={`${testId}-result`}>
        No feature fires on the {result.positions.length} chosen of these {result.tokens.length} tokens.
      </p>
    );
  }
  const shaded = result.features.find((f) => f.feature === shadedBy) ?? result.features[0]!;
  const rows = at === null ? result.features : [...result.features].sort((a, b) => b.acts[at]! - a.acts[at]! || a.feature - b.feature);
  const pick = (e: MouseEvent | KeyboardEvent) => {
    const pos = positionOf(e.target);
    if (pos !== null) setAt(pos);
  };
  const ignored = result.tokens.length - result.positions.length;
  return (
    <div className={styles.result} data-testid={`${testId}-result`}>
      <p className="muted">
        The {result.features.length} features with the largest {rank === 'max' ? 'maximum activation' : 'activations summed'} over{' '}
        {result.positions.length} of {result.tokens.length} tokens{ignored > 0 && ` (${ignored} left out)`}. The text is shaded by #{shaded.feature};
        click a token to rank these features by their activation there.
      </p>
      <div
        className={styles.text}
        onClick={pick}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            pick(e);
          }
        }}
      >
        <TokenText
          tokens={result.pieces}
          values={shaded.acts}
          scale={Math.max(...shaded.acts)}
          focus={at ?? shaded.position}
          label={`the text shaded by feature ${shaded.feature}`}
          testId={`${testId}-text`}
        />
      </div>
      {at !== null && (
        <p data-testid={`${testId}-rank-note`}>
          Ranked by activation at <code className="tok">{displayPiece(result.pieces[at] ?? '')}</code> (position {at}), among the features listed.{' '}
          <button type="button" className="link" onClick={() => setAt(null)}>
            Rank by {rank} again
          </button>
        </p>
      )}
      <table className={styles.compact} data-testid={`${testId}-table`}>
        <thead>
          <tr>
            <th>feature</th>
            <th>label</th>
            <th className="num">density</th>
            {at !== null && <th className="num">act here</th>}
            <th className="num">max act</th>
            <th className="num">sum</th>
            <th>peaks at</th>
            <th className="num">fires on</th>
            <th>shade</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.feature} data-feature={f.feature}>
              <td className="mono">
                <Link href={`/${address.model}/${address.sae}/${f.feature}`}>#{f.feature}</Link>
              </td>
              <td>{f.label || <span className="muted">unlabelled</span>}</td>
              <td className="num mono">{f.density === null ? <span className="muted">—</span> : formatFraction(f.density)}</td>
              {at !== null && <td className="num mono">{formatValue(f.acts[at]!)}</td>}
              <td className="num mono">{formatValue(f.maxAct)}</td>
              <td className="num mono">{formatValue(f.sum)}</td>
              <td>
                <code className="tok">{displayPiece(result.pieces[f.position] ?? '')}</code> <span className="muted">(position {f.position})</span>
              </td>
              <td className="num mono">
                {f.firing} of {result.positions.length}
              </td>
              <td>
                <button type="button" className="link" aria-pressed={f.feature === shaded.feature} onClick={() => setShadedBy(f.feature)}>
                  shade
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
