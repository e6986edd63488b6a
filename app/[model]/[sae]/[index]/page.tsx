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
import { formatFeatureAddress, modelHref, saeHref } from '@/server/addresses';
import { canMakeLists } from '@/server/lists';
import { HypothesesBox } from '../../../_components/hypotheses-box';
import { ProposalsPanel } from '../../../_components/label-proposals-panel';
import { ExplainFeatureButton } from '../../../_components/explain-panel';
import { LiveFeature } from '../../../_components/live-feature';
import { orNotFound } from '../../../_lib/not-found';
import { FeatureDiscussion } from '../../../_components/feature-discussion';
import { AddToList } from '../../../_components/add-to-list';
import { ServerHtml } from '../../../_components/server-html';
import { ActivationHistogram, type Bins, LogitHistogram } from './charts';
import { CopyLink } from './copy-link';
import { Description } from './description';
import { intervalList, RADIUS } from './example-lines';
import { ExampleGroup, ExamplesDisclosure } from './examples';
import { ExampleKeysHint, Examples, exampleScale, IntervalExamples, linesUrl } from './evidence';
import styles from './feature.module.css';
import { FeaturePanels } from './panels';
import { featureSections, sectionsVersion, type SectionName } from './sections';

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
 * (a collapsed section's lines come from ./lines when it opens). It reads the hypotheses, backlinks and comment
 * thread too, which their components find in this render's memo (feature.get).
 */
const load = cache(
  async (model: string, sae: string, raw: string, intervalExamples: boolean): Promise<FeaturePageData & { can: Record<Action, boolean> }> => {
    const index = parseIndex(raw);
    if (index === null) notFound();
    const caller = await api();
    return orNotFound(caller.feature.get({ model, sae, index, intervalExamples, discussion: true }));
  },
);

export async function generateMetadata(props: { params: Promise<Params>; searchParams: Promise<SearchParams> }): Promise<Metadata> {
  const [{ model, sae, index }, search] = await Promise.all([props.params, props.searchParams]);
  const data = await load(model, sae, index, showsAllIntervals(search));
  const label = data.page.label ? ` · ${data.page.label}` : '';
  return { title: `${formatFeatureAddress({ model: data.model.slug, sae: data.sae.slug, index: data.index })}${label} · Lexicon` };
}

/** A dashboard's histogram (equal-width bins) as the charts take it. */
function binsOf(h: Histogram): Bins {
  return { lo: h.edges[0] ?? 0, width: h.edges.length > 1 ? h.edges[1]! - h.edges[0]! : 1, counts: h.counts };
}

/** The description as the editor takes it: its markdown source only for those who may edit it. */
function pageForReader({ body, label, html, revision, updatedAt, updatedBy }: FeaturePageData['page'], canEdit: boolean): FeaturePageData['page'] {
  return { body: canEdit ? body : '', label, html, revision, updatedAt, updatedBy };
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
  const sections = featureSections(data);
  // names what the sections show, so that a browser's answer for other sections (before an edit) is not reused
  const sectionsUrl = `${path}/sections?v=${sectionsVersion(sections)}`;
  /** A static section, by key (ServerHtml); a client navigation's mount fetches it from ./sections. */
  const section = (name: SectionName, props: Omit<Parameters<typeof ServerHtml>[0], 'htmlKey' | 'from'>) => {
    const key = sections[name]?.key;
    return key && <ServerHtml key={key} htmlKey={key} from={{ source: sectionsUrl, name }} {...props} />;
  };

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
        page={pageForReader(data.page, canEdit)}
        canEdit={canEdit}
        signedIn={!!me}
      />
      <ProposalsPanel address={address} canEdit={canEdit} signedIn={!!me} viewerId={me?.id ?? null} initial={data.labels} />
      {canEdit && stats && <ExplainFeatureButton model={model.slug} sae={sae.slug} index={index} />}
      {section('provenance', { as: 'p', className: `muted mono ${styles.meta}` })}
      {canMakeLists(me) && <AddToList model={model.slug} sae={sae.slug} indices={[index]} action="Add to list" />}

      <HypothesesBox model={model.slug} sae={sae.slug} index={index} canEdit={canEdit} hasDashboard={!!stats} />
      <div className={styles.columns}>
        <aside className={styles.side}>
          {stats ? (
            <>
              <section aria-labelledby="stats-h">
                <h2 id="stats-h">Statistics</h2>
                {section('stats', {})}
              </section>
              <section aria-labelledby="hist-h">
                <h2 id="hist-h">Activations</h2>
                <ActivationHistogram histogram={binsOf(stats.histogram)} nTokens={stats.nTokens} nonzero={stats.nonzeroCount} />
              </section>
              <section aria-labelledby="logits-h">
                <h2 id="logits-h">Logit weights</h2>
                {section('logits', {})}
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
          {data.similar.length > 0 && (
            <section aria-labelledby="similar-h" data-testid="similar-features">
              <h2 id="similar-h">Similar features</h2>
              <p className="muted">nearest by cosine of the decoder rows (or encoder columns), other SAEs nearest layer first</p>
              {section('similar', {})}
            </section>
          )}
          {section('config', { as: 'details', className: styles.cfg })}
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
