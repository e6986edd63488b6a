/**
 * A feature's evidence as the feature page and the labelling queue show it: the logit weights it raises and lowers,
 * and example lists (top, random, quantile intervals) as HTML, made interactive by the client component ./examples.
 */
import type { TokenWeight } from '@/compute/dashboards/types';
import type { FeatureAddress } from '@/server/addresses';
import type { FeatureExample, FeatureInterval, FeaturePage, FeatureStats } from '@/server/feature-page';
import { cachedHtml } from '@/server/html-cache';
import { displayPiece } from '@/server/token-piece';
import { TOKEN_KEYS_HINT } from '../../../_components/token-html';
import { formatFraction, formatValue } from '../../../_components/token-format';
import { exampleKey, exampleListHtml, RADIUS, toFlight } from './example-lines';
import { ExampleLines } from './examples';
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

/** A feature's page data as its example lists need it. */
export type ExampleSource = Pick<FeaturePage, 'model' | 'run' | 'index' | 'stats' | 'pieces'> & { address: FeatureAddress };

/**
 * Example contexts of a feature, each centred on its peak (or drawn token), `radius` tokens either side until
 * expanded. The lines are HTML from ./example-lines, rendered once per dashboard run, feature row and list and then
 * cached (server/html-cache): the page's reader was authorised when the page was read. `list` names the list on
 * the page (its keys hint's id).
 */
export function Examples(props: { feature: ExampleSource; examples: FeatureExample[]; list: string; radius?: number }) {
  const { feature, examples, list } = props;
  const radius = props.radius ?? RADIUS;
  const scale = feature.stats?.maxAct ?? 0;
  const hint = `${list}-keys`;
  const key = `${feature.model.contentHash}/${feature.run?.id}/${feature.index}@${feature.stats?.version}/${radius}/${hint}/${examples.map(exampleKey).join()}`;
  const html = cachedHtml(key, () => exampleListHtml(examples, feature.pieces, scale, radius, hint));
  return (
    <>
      <span id={hint} hidden>
        {TOKEN_KEYS_HINT}
      </span>
      <ExampleLines address={feature.address} scale={scale} lines={toFlight(html)} />
    </>
  );
}

/** The activations the intervals divide: every firing, less those at BOS when BOS was left out. */
function intervalTotal(s: FeatureStats): number {
  return s.nonzeroCount - (s.bosExcluded ? (s.bosCount ?? 0) : 0);
}

/** Each quantile interval's range and share of the activations, with its examples. */
export function IntervalExamples(props: { feature: ExampleSource & { stats: FeatureStats }; intervals: FeatureInterval[]; radius?: number }) {
  const total = intervalTotal(props.feature.stats);
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
        <Examples feature={props.feature} examples={interval.examples} list={`interval${i}`} radius={props.radius} />
      </div>
    ),
  );
}
