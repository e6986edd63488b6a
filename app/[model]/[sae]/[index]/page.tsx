/**
 * A feature's page, /{model}/{sae}/{index}: label and description, statistics, histograms, logit weights, top and
 * quantile-interval examples, and the compute panels. Server-rendered from one read (feature.get), readable without
 * JavaScript; the panels, the charts and the editor hydrate on top.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { cache } from 'react';
import { api } from '@/server/api/server-caller';
import type { Histogram } from '@/compute/dashboards/types';
import type { Action } from '@/server/authz';
import type { FeaturePage as FeaturePageData } from '@/server/feature-page';
import type { SimilarFeatureGroup } from '@/server/similar-features';
import { formatFeatureAddress, modelHref, saeHref } from '@/server/addresses';
import { canMakeLists } from '@/server/lists';
import { HypothesesBox } from '../../../_components/hypotheses-box';
import { ProposalsPanel } from '../../../_components/label-proposals-panel';
import { ExplainFeatureButton } from '../../../_components/explain-panel';
import { LiveFeature } from '../../../_components/live-feature';
import { saeHooks } from '../../../_components/sae-hooks';
import { formatFraction } from '../../../_components/token-format';
import { orNotFound } from '../../../_lib/not-found';
import { FeatureDiscussion } from '../../../_components/feature-discussion';
import { AddToList } from '../../../_components/add-to-list';
import { ActivationHistogram, type Bins, LogitHistogram } from './charts';
import { CopyLink } from './copy-link';
import { Description } from './description';
import { intervalList, RADIUS } from './example-lines';
import { ExampleGroup, ExamplesDisclosure } from './examples';
import { ExampleKeysHint, Examples, exampleScale, IntervalExamples, linesUrl, LogitWeights } from './evidence';
import styles from './feature.module.css';
import { FeaturePanels } from './panels';
import { describeRunSource } from '../../../_components/run-source';

type Params = { model: string; sae: string; index: string };
type SearchParams = Record<string, string | string[] | undefined>;

/** The quantile intervals' lines are left out (fetched when the section is opened) unless asked for: a page without scripts links here. */
const showsAllIntervals = (search: SearchParams) => search.intervals === 'all';

function parseIndex(raw: string): number | null {
  if (!/^\d{1,10}$/.test(raw)) return null;
  const index = Number(raw);
  return index <= 2 ** 31 - 1 ? index : null;
}

/**
 * One read per request, shared by the metadata and the page; the intervals' examples only when the page shows them
 * (a collapsed section's lines come from ./lines when it opens).
 */
const load = cache(
  async (model: string, sae: string, raw: string, intervalExamples: boolean): Promise<FeaturePageData & { can: Record<Action, boolean> }> => {
    const index = parseIndex(raw);
    if (index === null) notFound();
    const caller = await api();
    return orNotFound(caller.feature.get({ model, sae, index, intervalExamples }));
  },
);

export async function generateMetadata(props: { params: Promise<Params>; searchParams: Promise<SearchParams> }): Promise<Metadata> {
  const [{ model, sae, index }, search] = await Promise.all([props.params, props.searchParams]);
  const data = await load(model, sae, index, showsAllIntervals(search));
  const label = data.page.label ? ` · ${data.page.label}` : '';
  return { title: `${formatFeatureAddress({ model: data.model.slug, sae: data.sae.slug, index: data.index })}${label} · Lexicon` };
}

const num = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

function densityText(s: NonNullable<FeaturePageData['stats']>): string {
  if (s.nonzeroCount === 0) return `dead: never fired in ${s.nTokens.toLocaleString('en')} tokens`;
  const d = s.density;
  return `${formatFraction(d)} (${s.nonzeroCount.toLocaleString('en')} of ${s.nTokens.toLocaleString('en')} tokens)`;
}

function bosNote(s: NonNullable<FeaturePageData['stats']>): string {
  return `counted in density; left out of the examples, the max and the histogram (${s.bosCount} of ${s.nonzeroCount} firings)`;
}

/** A dashboard's histogram (equal-width bins) as the charts take it. */
function binsOf(h: Histogram): Bins {
  return { lo: h.edges[0] ?? 0, width: h.edges.length > 1 ? h.edges[1]! - h.edges[0]! : 1, counts: h.counts };
}

/** How the page names the logit-weight convention its numbers follow. */
function logitConvention(folded: boolean): string {
  return folded ? 'final norm folded into W_U (TransformerLens fold_ln, as Neuronpedia)' : 'raw W_dec·W_U, final norm not folded';
}

function StatsTable({ data }: { data: FeaturePageData }) {
  const s = data.stats!;
  const rows: [key: string, name: string, value: string, note?: string][] = [
    ['density', 'density', densityText(s), `fraction of tokens with activation > 0, over N = ${s.nTokens.toLocaleString('en')} tokens, BOS included`],
    ...(s.bosCount === null
      ? []
      : [['bos', 'firings at BOS', `${s.bosCount.toLocaleString('en')}`, s.bosExcluded ? bosNote(s) : 'counted in density, and ranked in the examples like any token'] as [string, string, string, string]]),
    ['max', 'max activation', num(s.maxAct), s.bosExcluded ? 'over the tokens other than BOS' : undefined],
    ['mean', 'mean activation', num(s.meanAct), 'over the tokens where it fires'],
    ['mean-all', 'mean over all tokens', num(s.meanActAll, 4)],
    ['encoder-bias', 'encoder bias', num(s.encoderBias, 4), 'b_enc[f]'],
    ['norms', '‖W_enc[:, f]‖ / ‖W_dec[f]‖', `${num(s.encoderNorm)} / ${num(s.decoderNorm)}`],
    ['de', 'D/E projection', `${num(s.deDot)} (cos ${num(s.deCos)})`, 'W_enc[:, f] · W_dec[f], and its cosine'],
  ];
  return (
    <table className={styles.stats} data-testid="feature-stats">
      <tbody>
        {rows.map(([key, name, value, note]) => (
          <tr key={key}>
            <th scope="row" title={note}>
              {name}
            </th>
            <td className="mono" data-testid={`stat-${key}`}>
              {value}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** How the page names a set of neighbours: its own SAE's by what was compared, another SAE's by its hook. */
function similarCaption(group: SimilarFeatureGroup): string {
  return group.same ? `this SAE, ${group.kind} cosine` : `${group.sae.hookName} (${group.sae.slug}), decoder cosine`;
}

function SimilarFeatures({ groups, model }: { groups: SimilarFeatureGroup[]; model: string }) {
  return (
    <section aria-labelledby="similar-h" data-testid="similar-features">
      <h2 id="similar-h">Similar features</h2>
      <p className="muted">nearest by cosine of the decoder rows (or encoder columns), other SAEs nearest layer first</p>
      {groups.map((group) => (
        <table key={`${group.kind}-${group.sae.slug}`} className={styles.similar} data-testid={`similar-${group.same ? 'own' : 'other'}-${group.kind}`}>
          <caption>{similarCaption(group)}</caption>
          <tbody>
            {group.neighbours.map((n) => (
              <tr key={n.index}>
                <td className="mono">
                  <Link href={`${saeHref({ model, sae: group.sae.slug })}/${n.index}`}>{group.same ? n.index : `${group.sae.slug}/${n.index}`}</Link>
                </td>
                <td className={styles.similarLabel} title={n.label || undefined}>
                  {n.label || <span className="muted">no label</span>}
                </td>
                <td className={`mono ${styles.value}`}>{n.cosine.toFixed(3)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

export default async function FeaturePage(props: { params: Promise<Params>; searchParams: Promise<SearchParams> }) {
  const [{ model: rawModel, sae: rawSae, index: rawIndex }, search] = await Promise.all([props.params, props.searchParams]);
  const allIntervals = showsAllIntervals(search);
  const data = await load(rawModel, rawSae, rawIndex, allIntervals);
  const caller = await api();
  const me = await caller.auth.me();
  const { model, sae, index, stats, run } = data;
  const base = saeHref({ model: model.slug, sae: sae.slug });
  const path = `${base}/${index}`;
  const address = { model: model.slug, sae: sae.slug, index };
  const feature = { ...data, address };
  const canEdit = data.can.edit;
  const topLogit = stats?.logitTop[0];
  const intervals = data.intervals.filter((i) => i.exampleCount > 0);
  const intervalExamples = intervals.reduce((n, i) => n + i.exampleCount, 0);
  const shownLines = linesUrl(feature, RADIUS, data.random.length > 0 ? ['top', 'random'] : ['top']);
  const intervalLines = linesUrl(feature, RADIUS, intervals.map((i) => intervalList(i)));

  return (
    <div className={styles.page}>
      <nav className={styles.crumbs} aria-label="Breadcrumb">
        <Link href={modelHref(model.slug)}>{model.slug}</Link> / <Link href={base}>{sae.slug}</Link> / <span>{index}</span>
        <span className={styles.nav}>
          {index > 0 ? (
            <Link href={`${base}/${index - 1}`} rel="prev" data-testid="prev-feature">
              ← {index - 1}
            </Link>
          ) : (
            <span className="muted">← none</span>
          )}
          {index + 1 < sae.dSae ? (
            <Link href={`${base}/${index + 1}`} rel="next" data-testid="next-feature">
              {index + 1} →
            </Link>
          ) : (
            <span className="muted">none →</span>
          )}
          <CopyLink path={path} />
        </span>
      </nav>
      <LiveFeature model={model.slug} sae={sae.slug} index={index} saeId={sae.id} />

      <Description
        address={address}
        title={formatFeatureAddress({ model: model.slug, sae: sae.slug, index })}
        page={data.page}
        canEdit={canEdit}
        signedIn={!!me}
      />
      <ProposalsPanel address={address} canEdit={canEdit} signedIn={!!me} viewerId={me?.id ?? null} initial={data.labels} />
      {canEdit && stats && <ExplainFeatureButton model={model.slug} sae={sae.slug} index={index} />}
      <p className={`muted mono ${styles.meta}`}>
        {saeHooks(sae.hookName, sae.cfg)} · {sae.architecture} · d_sae {sae.dSae.toLocaleString('en')}
        {run ? (
          <>
            {' '}
            {run.source ? (
              <span data-testid="run-source">· dashboards {describeRunSource(run.source)}</span>
            ) : (
              <>· dashboards over {run.nTokens?.toLocaleString('en') ?? '?'} tokens of “{run.corpusName}”</>
            )}
            {run.completedAt && <> · {run.source ? 'imported' : 'computed'} {run.completedAt.slice(0, 16).replace('T', ' ')} UTC</>}
          </>
        ) : null}
      </p>
      {canMakeLists(me) && <AddToList model={model.slug} sae={sae.slug} indices={[index]} action="Add to list" />}

      <HypothesesBox model={model.slug} sae={sae.slug} index={index} canEdit={canEdit} hasDashboard={!!stats} />
      <div className={styles.columns}>
        <aside className={styles.side}>
          {stats ? (
            <>
              <section aria-labelledby="stats-h">
                <h2 id="stats-h">Statistics</h2>
                <StatsTable data={data} />
              </section>
              <section aria-labelledby="hist-h">
                <h2 id="hist-h">Activations</h2>
                <ActivationHistogram histogram={binsOf(stats.histogram)} nTokens={stats.nTokens} nonzero={stats.nonzeroCount} />
              </section>
              <section aria-labelledby="logits-h">
                <h2 id="logits-h">Logit weights</h2>
                <p className="muted" data-testid="logit-convention">
                  {logitConvention(stats.logitFoldLn)}
                </p>
                <LogitWeights stats={stats} pieces={data.pieces} />
                <LogitHistogram histogram={binsOf(stats.logitHistogram)} />
              </section>
            </>
          ) : (
            <p className="panel" data-testid="no-dashboard">
              {run
                ? 'The current dashboards have no data for this feature.'
                : 'No dashboards have been computed for this SAE yet.'}{' '}
              {canEdit && run ? 'Recompute it below.' : ''}
            </p>
          )}
          {data.similar.length > 0 && <SimilarFeatures groups={data.similar} model={model.slug} />}
          <details className={styles.cfg}>
            <summary>SAELens config</summary>
            <pre className="mono" data-testid="sae-cfg">
              {JSON.stringify(sae.cfg, null, 2)}
            </pre>
          </details>
        </aside>

        <div className={styles.main}>
          <FeaturePanels
            address={address}
            signedIn={!!me}
            canEdit={canEdit}
            hasDashboards={!!run}
            defaultText={defaultPrompt(data)}
            defaultTarget={topLogit ? (data.pieces[topLogit.id] ?? String(topLogit.id)) : ''}
            recompute={data.recompute}
            maxAct={stats?.maxAct ?? 0}
          />

          {stats && (
            <>
              <ExampleKeysHint />
              <ExampleGroup key={shownLines} source={shownLines} address={address} scale={exampleScale(feature)}>
                <section aria-labelledby="top-h" data-testid="top-examples">
                  <h2 id="top-h">
                    Top activations{' '}
                    <span className="muted">
                      {/* one text node: one string in the flight data, no <!-- --> between parts in the HTML */}
                      {`(${data.top.length} contexts, ranked by each context’s maximum activation${stats.bosExcluded ? ', BOS left out' : ''}${
                        data.top.some((e) => e.lossDelta) ? '; hover a token for the loss change when the feature is ablated' : ''
                      })`}
                    </span>
                  </h2>
                  {data.top.length === 0 ? (
                    <p className="muted">It never fired in {stats.nTokens.toLocaleString('en')} tokens.</p>
                  ) : (
                    <Examples feature={feature} list="top" radius={RADIUS} />
                  )}
                </section>
                {data.random.length > 0 && (
                  <section aria-labelledby="random-h" data-testid="random-examples">
                    <h2 id="random-h">
                      Random contexts <span className="muted">(a uniform sample of the contexts where it fires, in corpus order)</span>
                    </h2>
                    <Examples feature={feature} list="random" radius={RADIUS} />
                  </section>
                )}
              </ExampleGroup>
              {intervals.length > 0 && (
                <ExamplesDisclosure
                  key={intervalLines}
                  source={intervalLines}
                  address={address}
                  scale={exampleScale(feature)}
                  open={allIntervals}
                  testId="quantiles"
                  summary={
                    <h2 id="quantiles-h">
                      Quantile intervals{' '}
                      <span className="muted">
                        {`(${intervalExamples} examples in ${intervals.length} intervals: random tokens with an activation in each)`}
                      </span>
                    </h2>
                  }
                >
                  {!allIntervals && (
                    <noscript>
                      <p>
                        <a href={`${path}?intervals=all#quantiles-h`}>Show the interval examples</a>
                      </p>
                    </noscript>
                  )}
                  <IntervalExamples feature={{ ...feature, stats }} intervals={intervals} radius={RADIUS} deferred={!allIntervals} />
                </ExamplesDisclosure>
              )}
            </>
          )}
        </div>
      </div>
      <FeatureDiscussion model={model.slug} sae={sae.slug} saeId={sae.id} index={index} />
    </div>
  );
}

/** A prompt to start the panels from: the top example's text from a word start some tokens back, to just after its peak. */
function defaultPrompt(data: FeaturePageData): string {
  const top = data.top[0];
  if (!top) return 'Once upon a time, there was a little girl named Lily.';
  const piece = (t: number) => data.pieces[top.tokens[t]!] ?? '';
  let from = Math.max(1, top.maxPos - 20);
  // start at a word (a piece with a leading space) rather than inside one
  while (from < top.maxPos && !/^\s/.test(piece(from))) from++;
  const text = Array.from({ length: Math.min(top.tokens.length, top.maxPos + 4) - from }, (_, i) => piece(from + i)).join('');
  return text.replace(/<0x0A>/g, '\n').replace(/\n?<s>\n?/g, ' ').trim() || 'Once upon a time';
}
