/**
 * A feature's evidence as the feature page and the labelling queue show it: the logit weights it raises and lowers,
 * and example lists (top, random, quantile intervals) as HTML, made interactive by the client component ./examples.
 */
import type { TokenWeight } from '@/compute/dashboards/types';
import { createHash } from 'node:crypto';
import { featureHref, type FeatureAddress } from '@/server/addresses';
import type { FeatureInterval, FeaturePage, FeatureStats } from '@/server/feature-page';
import { cachedHtml } from '@/server/html-cache';
import { displayPiece, pieceOf } from '@/server/token-piece';
import { escapeHtml, TOKEN_KEYS_HINT } from '../../../_components/token-html';
import { formatFraction, formatValue } from '../../../_components/token-format';
import { EXAMPLE_KEYS_HINT_ID, exampleListHtml, intervalList, selectExamples } from './example-lines';
import { ExampleLines } from './examples';
import styles from './feature.module.css';

function logitTableHtml(title: string, weights: TokenWeight[], pieces: Record<number, string>, testId: string, sign: 1 | -1): string {
  const scale = Math.max(1e-9, ...weights.map((w) => Math.abs(w.value)));
  const rows = weights
    .map(
      (w) =>
        `<tr><td title="token id ${w.id}">${escapeHtml(displayPiece(pieceOf(pieces, w.id)))}</td>` +
        // the bar: empty, so assistive technology passes over it
        `<td><span style="width:${Math.round((40 * Math.abs(w.value)) / scale)}px"></span>${w.value >= 0 ? '+' : ''}${formatValue(w.value)}</td></tr>`,
    )
    .join('');
  return `<table class="${sign > 0 ? styles.logits : `${styles.logits} ${styles.lowers}`}" data-testid="${testId}"><caption>${title}</caption><tbody class="mono">${rows}</tbody></table>`;
}

/** The tokens whose logits the feature raises most, beside those it lowers most, as HTML (pieces escaped). */
export function logitWeightsHtml(stats: Pick<FeatureStats, 'logitTop' | 'logitBottom'>, pieces: Record<number, string>): string {
  return (
    `<div class="${styles.logitPair}">${logitTableHtml('raises', stats.logitTop, pieces, 'logit-top', 1)}` +
    `${logitTableHtml('lowers', stats.logitBottom, pieces, 'logit-bottom', -1)}</div>`
  );
}

/** logitWeightsHtml as an element, for a page that renders it once per request (the labelling queue). */
export function LogitWeights({ stats, pieces }: { stats: Pick<FeatureStats, 'logitTop' | 'logitBottom'>; pieces: Record<number, string> }) {
  return <div dangerouslySetInnerHTML={{ __html: logitWeightsHtml(stats, pieces) }} />;
}

/** A feature's page data as its example lists need it. */
export type ExampleSource = Pick<FeaturePage, 'model' | 'run' | 'index' | 'stats' | 'pieces' | 'top' | 'random' | 'intervals'> & { address: FeatureAddress };

/**
 * Where the browser fetches the lines of example lists shown together (names as example-lines selectExamples reads
 * them), `radius` tokens either side of each line's centre, in one request (./lines), when it was not sent them: the
 * run and the feature row's version name exactly the lines shown. ExampleGroup and ExamplesDisclosure take it, with
 * the feature's address and the lines' scale (exampleScale).
 */
export function linesUrl(feature: ExampleSource, radius: number, lists: string[]): string {
  const query = new URLSearchParams({ run: feature.run?.id ?? '', v: feature.stats?.version ?? '', r: String(radius), lists: lists.join() });
  return `${featureHref(feature.address)}/lines?${query}`;
}

/** The value of full colour in a feature's example lines: its largest activation. */
export const exampleScale = (feature: ExampleSource) => feature.stats?.maxAct ?? 0;

/**
 * A list's lines as HTML (./example-lines), rendered once per dashboard run, feature row, window and list and then
 * cached (server/html-cache), with the key they are kept under; null when `list` names no list. The caller has
 * checked the reader's access.
 */
export function exampleList(feature: ExampleSource, list: string, radius: number): { key: string; html: string } | null {
  const examples = selectExamples(feature, list);
  if (!examples) return null;
  const name = `${feature.model.contentHash}/${feature.run?.id}/${feature.index}@${feature.stats?.version}/${radius}/${list}`;
  // the key travels to the browser in the flight data: a digest is a fifth of the name
  const key = createHash('sha256').update(name).digest('base64url').slice(0, 22);
  return { key, html: cachedHtml(key, () => exampleListHtml(examples, feature.pieces, exampleScale(feature), radius, EXAMPLE_KEYS_HINT_ID)) };
}

/** What the keys do on example lines, once per page that shows any (their lines name it). */
export function ExampleKeysHint() {
  return (
    <span id={EXAMPLE_KEYS_HINT_ID} hidden>
      {TOKEN_KEYS_HINT}
    </span>
  );
}

/**
 * Example contexts of a feature, each centred on its peak (or drawn token), inside an ExampleGroup or
 * ExamplesDisclosure whose lists include `list`. The lines are rendered here and reach the page's HTML once, through
 * the client component's server render taking them from the cache by key (never in its props, so not in the flight
 * data too); a `deferred` list's lines are left out of the page, for the browser to fetch when its section opens.
 */
export function Examples({ feature, list, radius, deferred }: { feature: ExampleSource; list: string; radius: number; deferred?: boolean }) {
  const rendered = deferred ? null : exampleList(feature, list, radius);
  return <ExampleLines list={list} htmlKey={rendered?.key} />;
}

/** The activations the intervals divide: every firing, less those at BOS when BOS was left out. */
function intervalTotal(s: FeatureStats): number {
  return s.nonzeroCount - (s.bosExcluded ? (s.bosCount ?? 0) : 0);
}

/** Each quantile interval's range and share of the activations, with its examples (the first `limit` of each). */
export function IntervalExamples(props: { feature: ExampleSource & { stats: FeatureStats }; intervals: FeatureInterval[]; radius: number; limit?: number; deferred?: boolean }) {
  const total = intervalTotal(props.feature.stats);
  return props.intervals.map((interval) =>
    interval.exampleCount === 0 ? null : (
      <div key={interval.index} className={styles.interval} data-testid="interval">
        {/* each part one text node: one string in the flight data, no <!-- --> between parts in the HTML */}
        <h3>
          {`${formatValue(interval.lo)} – ${formatValue(interval.hi)} `}
          <span className="muted">
            {`· ${interval.count.toLocaleString('en')} activation${interval.count === 1 ? '' : 's'}${total > 0 ? ` (${formatFraction(interval.count / total)})` : ''}`}
          </span>
        </h3>
        <Examples feature={props.feature} list={intervalList(interval, props.limit)} radius={props.radius} deferred={props.deferred} />
      </div>
    ),
  );
}
