'use client';
/** Test your text: the feature's activation at every token, the most active features beside it, and for a hook_z SAE where it reads from. */
import { formatFraction } from '../token-format';
import { displayPiece, formatValue, TokenText } from '../tokens';
import { DirectFeatureAttribution } from './dfa';
import type { ResultViewProps } from './index';
import styles from './results.module.css';

export function ActivationsView({ result, feature, maxAct = 0, compact = false, testId }: ResultViewProps<'activations'>) {
  const acts = result.features[String(feature)] ?? [];
  const peak = acts.reduce((best, v, t) => (v > acts[best]! ? t : best), 0);
  const max = acts[peak] ?? 0;
  const firing = acts.filter((v) => v > 0).length;
  return (
    <div className={styles.result} data-testid={`${testId}-result`}>
      <p className="muted">
        {firing === 0 ? (
          <>It does not fire on this text ({acts.length} tokens).</>
        ) : (
          <>
            Fires on {firing} of {acts.length} tokens; peak <strong className="mono">{formatValue(max)}</strong> at{' '}
            <code className="tok">{displayPiece(result.pieces[peak] ?? '')}</code> (position {peak})
            {maxAct > 0 && <> — {formatFraction(max / maxAct)} of its dashboard maximum</>}.
          </>
        )}
      </p>
      <div className={compact ? styles.short : styles.text}>
        <TokenText
          tokens={result.pieces}
          values={acts}
          scale={Math.max(maxAct, max) || 1}
          focus={firing > 0 ? peak : undefined}
          label="the text, shaded by the feature's activation"
          testId={`${testId}-tokens`}
          details={(t) => {
            const others = result.top[t]?.filter((a) => a.feature !== feature).slice(0, 3) ?? [];
            return others.length ? `most active: ${others.map((a) => `#${a.feature} ${formatValue(a.act)}`).join(', ')}` : null;
          }}
        />
      </div>
      {result.dfa && !compact && <DirectFeatureAttribution dfa={result.dfa} />}
    </div>
  );
}
