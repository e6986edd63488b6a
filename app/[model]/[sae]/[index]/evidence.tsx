/**
 * A feature's evidence as the feature page and the labelling queue show it: the logit weights it raises and lowers,
 * and example lists (top, random, quantile intervals) handed to the client component ./examples.
 */
import type { TokenWeight } from '@/compute/dashboards/types';
import type { FeatureAddress } from '@/server/addresses';
import type { FeatureExample, FeatureInterval, FeatureStats } from '@/server/feature-page';
import { displayPiece } from '@/server/token-piece';
import { formatFraction, formatValue } from '../../../_components/token-format';
import { exampleLine, RADIUS } from './example-lines';
import { ExampleList } from './examples';
import styles from './feature.module.css';

function LogitTable({ title, weights, pieces, testId, sign }: { title: string; weights: TokenWeight[]; pieces: Record<number, string>; testId: string; sign: 1 | -1 }) {
  const scale = Math.max(1e-9, ...weights.map((w) => Math.abs(w.value)));
  return (
    <table className={styles.logits} data-testid={testId}>
      <caption>{title}</caption>
      <tbody>
        {weights.map((w) => (
          <tr key={w.id}>
            <td className={`mono ${styles.piece}`} title={`token id ${w.id}`}>
              {displayPiece(pieces[w.id] ?? `<${w.id}>`)}
            </td>
            <td className={`mono ${styles.value}`}>
              <span className={sign > 0 ? styles.barUp : styles.barDown} style={{ width: `${Math.round((40 * Math.abs(w.value)) / scale)}px` }} aria-hidden />
              {w.value >= 0 ? '+' : ''}
              {formatValue(w.value)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The tokens whose logits the feature raises most, beside those it lowers most. */
export function LogitWeights({ stats, pieces }: { stats: Pick<FeatureStats, 'logitTop' | 'logitBottom'>; pieces: Record<number, string> }) {
  return (
    <div className={styles.logitPair}>
      <LogitTable title="raises" weights={stats.logitTop} pieces={pieces} testId="logit-top" sign={1} />
      <LogitTable title="lowers" weights={stats.logitBottom} pieces={pieces} testId="logit-bottom" sign={-1} />
    </div>
  );
}

/**
 * Example contexts of the feature at `address`, each centred on its peak (or drawn token), `radius` tokens either
 * side until expanded. The browser gets only the tokens shown; "expand" fetches the whole contexts.
 */
export function Examples(props: { examples: FeatureExample[]; pieces: Record<number, string>; scale: number; radius?: number; address: FeatureAddress }) {
  const radius = props.radius ?? RADIUS;
  const lines = JSON.stringify(props.examples.map((e) => exampleLine(e, props.pieces, radius)));
  return <ExampleList lines={lines} scale={props.scale} radius={radius} address={props.address} />;
}

/** The activations the intervals divide: every firing, less those at BOS when BOS was left out. */
function intervalTotal(s: FeatureStats): number {
  return s.nonzeroCount - (s.bosExcluded ? (s.bosCount ?? 0) : 0);
}

/** Each quantile interval's range and share of the activations, with its examples. */
export function IntervalExamples(props: { intervals: FeatureInterval[]; stats: FeatureStats; pieces: Record<number, string>; radius?: number; address: FeatureAddress }) {
  const total = intervalTotal(props.stats);
  return props.intervals.map((interval, i) =>
    interval.examples.length === 0 ? null : (
      <div key={i} className={styles.interval} data-testid="interval">
        <h3>
          {formatValue(interval.lo)} – {formatValue(interval.hi)}{' '}
          <span className="muted">
            · {interval.count.toLocaleString('en')} activation{interval.count === 1 ? '' : 's'}
            {total > 0 && ` (${formatFraction(interval.count / total)})`}
          </span>
        </h3>
        <Examples examples={interval.examples} pieces={props.pieces} scale={props.stats.maxAct} radius={props.radius} address={props.address} />
      </div>
    ),
  );
}
