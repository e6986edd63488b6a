import Link from 'next/link';
import type { Metadata } from 'next';
import { api } from '@/server/api/server-caller';
import { featureHref, modelHref, saeHref } from '@/server/addresses';
import { LabelForm } from '../../../_components/label-form';
import { ProgressBar } from '../../../_components/progress-bar';
import { orNotFound } from '../../../_lib/not-found';
import { ExampleKeysHint, Examples, exampleScale, IntervalExamples, linesUrl, LogitWeights, type ExampleSource } from '../[index]/evidence';
import type { FeatureInterval, FeatureStats } from '@/server/feature-page';
import { intervalList } from '../[index]/example-lines';
import { ExampleGroup } from '../[index]/examples';
import { formatFraction, formatValue } from '../../../_components/token-format';

type Params = { model: string; sae: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { model, sae } = await params;
  return { title: `Label ${model}/${sae} · Lexicon` };
}

/** Tokens shown either side of each example's peak (expandable): enough to see what leads up to it. */
const RADIUS = 32;
/** Top examples shown; quantile intervals sampled (spread from the highest to the lowest) and examples shown of each. */
const TOP_SHOWN = 8;
const INTERVALS_SHOWN = 4;
const PER_INTERVAL = 2;

/** `n` of `items`, evenly spread from the first to the last. */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, k) => items[Math.round((k * (items.length - 1)) / (n - 1))]!);
}

/**
 * The labelling queue: the next unlabelled live feature at or after ?at (wrapping round; without ?at each account
 * starts at its own place, so a team spreads over the SAE). Save and next, or skip, from the keyboard.
 */
export default async function LabelQueuePage(props: { params: Promise<Params>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const [{ model, sae }, search] = await Promise.all([props.params, props.searchParams]);
  const at = typeof search.at === 'string' && /^\d{1,9}$/.test(search.at) ? Number(search.at) : undefined;
  const caller = await api();
  const [queue, me] = await Promise.all([orNotFound(caller.sae.nextToLabel({ model, sae, from: at })), caller.auth.me()]);
  const feature = queue.next !== null ? await orNotFound(caller.feature.get({ model, sae, index: queue.next })) : null;
  const canEdit = feature?.can.edit ?? false;
  const intervals = spread(feature?.intervals.filter((i) => i.examples.length > 0) ?? [], INTERVALS_SHOWN);
  const labelled = queue.live - queue.remaining;
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href={modelHref(model)}>{model}</Link> / <Link href={saeHref({ model, sae })}>{sae}</Link> / <span>label</span>
      </nav>
      <h1>
        Label {model}/{sae}
      </h1>
      <ProgressBar done={labelled} total={queue.live} label="live features labelled" />
      <p className="muted small">
        {queue.remaining.toLocaleString('en')} live features without a label (dead features are left out). Each account starts at its own place in the SAE,
        so a team working together rarely meets; a save based on an older revision is refused, never overwritten.
      </p>
      {!queue.hasDashboards ? (
        <p className="panel">This SAE has no dashboards yet, so there is nothing to label from.</p>
      ) : queue.next === null || !feature ? (
        <p className="panel" data-testid="queue-done">
          Every live feature of this SAE has a label. <Link href={`${saeHref({ model, sae })}/features?labelled=yes`}>Review them</Link>.
        </p>
      ) : (
        <article className="queue-item" data-testid="queue-item">
          <h2>
            <Link href={featureHref({ model, sae, index: feature.index })}>
              {model}/{sae}/{feature.index}
            </Link>
            {feature.page.label && <span className="muted"> — {feature.page.label}</span>}
          </h2>
          {feature.stats && (
            <p className="muted mono small">
              density {formatFraction(feature.stats.density)} over {feature.stats.nTokens.toLocaleString('en')} tokens · max act{' '}
              {formatValue(feature.stats.maxAct)} · D/E {formatValue(feature.stats.deDot)}
            </p>
          )}
          <div className="queue-body">
            <div>
              <LabelForm
                key={`${feature.index}:${feature.page.revision}`}
                model={model}
                sae={sae}
                index={feature.index}
                label={feature.page.label}
                body={feature.page.body}
                revision={feature.page.revision}
                canEdit={canEdit}
                signedIn={!!me}
              />
              {feature.stats && (
                <section aria-labelledby="queue-logits-h">
                  <h3 id="queue-logits-h">Logit weights</h3>
                  <LogitWeights stats={feature.stats} pieces={feature.pieces} />
                </section>
              )}
            </div>
            {feature.stats && <QueueExamples feature={{ ...feature, stats: feature.stats, address: { model, sae, index: feature.index } }} intervals={intervals} />}
          </div>
        </article>
      )}
    </>
  );
}

/** The queue item's first top examples and a few of a few intervals, fetched together when the browser lacks them. */
function QueueExamples({ feature, intervals }: { feature: ExampleSource & { stats: FeatureStats }; intervals: FeatureInterval[] }) {
  const top = `top.${TOP_SHOWN}`;
  const lines = linesUrl(feature, RADIUS, [top, ...intervals.map((i) => intervalList(i, PER_INTERVAL))]);
  return (
    <ExampleGroup key={lines} source={lines} address={feature.address} scale={exampleScale(feature)}>
      <div>
        <ExampleKeysHint />
        <section data-testid="queue-top">
          <h3>
            Top activations <span className="muted small">({Math.min(TOP_SHOWN, feature.top.length)} of {feature.top.length})</span>
          </h3>
          <Examples feature={feature} list={top} radius={RADIUS} />
        </section>
        {intervals.length > 0 && (
          <section data-testid="queue-intervals">
            <h3>
              Quantile intervals{' '}
              <span className="muted small">(random tokens from {intervals.length} of the {feature.intervals.length} intervals, highest to lowest)</span>
            </h3>
            <IntervalExamples feature={feature} intervals={intervals} radius={RADIUS} limit={PER_INTERVAL} />
          </section>
        )}
      </div>
    </ExampleGroup>
  );
}
