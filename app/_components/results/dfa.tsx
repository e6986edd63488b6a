'use client';
import type { FeatureAttribution } from '@/compute/analyses/dfa';
import { displayPiece, formatValue, TokenText } from '../tokens';
import styles from './results.module.css';

/**
 * Direct feature attribution of a hook_z SAE's feature (as SAEDashboard shows it): how much each earlier token,
 * through the attention pattern and its value vector, contributes to the feature's pre-activation at one position.
 */
export function DirectFeatureAttribution({ dfa }: { dfa: FeatureAttribution }) {
  const values = dfa.pieces.map((_, s) => (s <= dfa.position ? dfa.sources[s]! : null));
  const scale = Math.max(...dfa.sources.map(Math.abs), 1e-9);
  const strongest = dfa.sources
    .map((value, s) => ({ value, s }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
    .slice(0, 3);
  return (
    <div className={styles.result} data-testid="dfa-result">
      <h4>Where it reads from (direct feature attribution)</h4>
      <p className="muted">
        At <span className="mono">{JSON.stringify(displayPiece(dfa.pieces[dfa.position] ?? ''))}</span> (position {dfa.position}, activation{' '}
        <span className="mono">{formatValue(dfa.act)}</span>) the pre-activation <span className="mono">{formatValue(dfa.pre)}</span> is the sum
        of each source token’s attention-weighted value vector read by the encoder (blue adds, red subtracts) plus a bias of{' '}
        <span className="mono">{formatValue(dfa.bias)}</span>. Largest:{' '}
        {strongest.map(({ value, s }, i) => (
          <span key={s}>
            {i > 0 && ', '}
            <span className="mono">{JSON.stringify(displayPiece(dfa.pieces[s] ?? ''))}</span> ({s}) {formatValue(value)}
          </span>
        ))}
        .
      </p>
      <div className={styles.text}>
        <TokenText
          tokens={dfa.pieces}
          values={values}
          scale={scale}
          shading="diverging"
          focus={dfa.position}
          valueName="DFA"
          label="your text, shaded by each source token's contribution to the feature at the focused position"
          testId="dfa-tokens"
        />
      </div>
    </div>
  );
}
