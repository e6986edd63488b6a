'use client';
/** An ablation: the loss change of predicting each token without the feature, and (in full) the per-token table and the logits that fell most. */
import { displayPiece, formatValue, TokenText } from '../tokens';
import type { ResultViewProps } from './index';
import styles from './results.module.css';

export function AblationView({ result, compact = false, testId }: ResultViewProps<'ablate'>) {
  const n = result.tokens.length;
  // deltas[t]: the loss change of predicting token t (at position t − 1); nothing predicts the first token
  const deltas: (number | null)[] = Array.from({ length: n }, (_, t) => (t === 0 ? null : result.lossAblated[t - 1]! - result.lossClean[t - 1]!));
  const scale = Math.max(1e-6, ...deltas.map((d) => Math.abs(d ?? 0)));
  const total = deltas.reduce<number>((s, d) => s + (d ?? 0), 0);
  return (
    <div className={styles.result} data-testid={`${testId}-result`}>
      <p className="muted">
        Mean loss change {n > 1 ? formatValue(total / (n - 1)) : '—'} over {n - 1} predictions. Blue: the loss rose without the feature (it helped
        predict that token); red: it fell.
      </p>
      <div className={compact ? styles.short : styles.text}>
        <TokenText
          tokens={result.pieces}
          values={deltas}
          scale={scale}
          shading="diverging"
          valueName="Δloss"
          label="the text, shaded by the loss change of predicting each token"
          testId={`${testId}-tokens`}
          details={(t) => `act ${formatValue(result.acts[t] ?? 0)}`}
        />
      </div>
      {!compact && (
        <div className={styles.twoCol}>
          <table className={styles.compact} data-testid={`${testId}-table`}>
            <thead>
              <tr>
                <th>pos</th>
                <th>token</th>
                <th className="num">act</th>
                <th className="num">loss</th>
                <th className="num">ablated</th>
                <th className="num">Δ</th>
                <th className="num">KL</th>
              </tr>
            </thead>
            <tbody>
              {result.tokens.map((_, t) => (
                <tr key={t}>
                  <td className="muted">{t}</td>
                  <td className="mono">{displayPiece(result.pieces[t] ?? '')}</td>
                  <td className="num mono">{formatValue(result.acts[t] ?? 0)}</td>
                  <td className="num mono">{t > 0 ? formatValue(result.lossClean[t - 1]!) : ''}</td>
                  <td className="num mono">{t > 0 ? formatValue(result.lossAblated[t - 1]!) : ''}</td>
                  <td className="num mono">{deltas[t] === null ? '' : `${deltas[t]! >= 0 ? '+' : ''}${formatValue(deltas[t]!)}`}</td>
                  <td className="num mono">{formatValue(result.kl[t] ?? 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table className={styles.compact} data-testid={`${testId}-logits`}>
            <caption>Most decreased logits at the last position</caption>
            <tbody>
              {result.logitDeltas.map((d) => (
                <tr key={d.id}>
                  <td className="mono">{displayPiece(d.piece)}</td>
                  <td className="num mono">{formatValue(d.delta)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
