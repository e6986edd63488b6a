'use client';
/** Search by inference: the SAE's features that fire most on a text, each linked to its page. */
import Link from 'next/link';
import type { JobResult } from '@/jobs';
import { displayPiece, formatValue } from '../tokens';
import styles from './results.module.css';

export function TopFeaturesView({ result, address, testId }: { result: JobResult<'top-features'>; address: { model: string; sae: string }; testId: string }) {
  if (result.features.length === 0) {
    return (
      <p className="muted" data-testid={`${testId}-result`}>
        No feature fires on these {result.tokens.length} tokens.
      </p>
    );
  }
  return (
    <div className={styles.result} data-testid={`${testId}-result`}>
      <p className="muted">
        The {result.features.length} features with the largest activations over {result.tokens.length} tokens, largest first.
      </p>
      <table className={styles.compact} data-testid={`${testId}-table`}>
        <thead>
          <tr>
            <th>feature</th>
            <th>label</th>
            <th className="num">max act</th>
            <th>peaks at</th>
            <th className="num">fires on</th>
          </tr>
        </thead>
        <tbody>
          {result.features.map((f) => (
            <tr key={f.feature}>
              <td className="mono">
                <Link href={`/${address.model}/${address.sae}/${f.feature}`}>#{f.feature}</Link>
              </td>
              <td>{f.label || <span className="muted">unlabelled</span>}</td>
              <td className="num mono">{formatValue(f.maxAct)}</td>
              <td>
                <code className="tok">{displayPiece(result.pieces[f.position] ?? '')}</code> <span className="muted">(position {f.position})</span>
              </td>
              <td className="num mono">
                {f.firing} of {result.tokens.length}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
