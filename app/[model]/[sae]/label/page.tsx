import Link from 'next/link';
import type { Metadata } from 'next';
import { api } from '@/server/api/server-caller';
import { featureHref, modelHref, saeHref } from '@/server/addresses';
import { LabelForm } from '../../../_components/label-form';
import { ProgressBar } from '../../../_components/progress-bar';
import { TokenText } from '../../../_components/tokens';
import { orNotFound } from '../../../_lib/not-found';
import { formatFraction, formatValue } from '../../../_components/token-format';

type Params = { model: string; sae: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { model, sae } = await params;
  return { title: `Label ${model}/${sae} · Lexicon` };
}

/** Tokens shown either side of each example's peak (expandable): enough to read it on a phone. */
const RADIUS = 12;

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
          {feature.stats && (
            <div className="logits">
              <span className="muted">raises </span>
              {feature.stats.logitTop.slice(0, 8).map((w) => (
                <code key={`t${w.id}`} className="tok up" title={w.value.toFixed(3)}>
                  {feature.pieces[w.id] ?? `<${w.id}>`}
                </code>
              ))}
              <span className="muted"> lowers </span>
              {feature.stats.logitBottom.slice(0, 5).map((w) => (
                <code key={`b${w.id}`} className="tok down" title={w.value.toFixed(3)}>
                  {feature.pieces[w.id] ?? `<${w.id}>`}
                </code>
              ))}
            </div>
          )}
          <ol className="examples" aria-label="Top activating examples">
            {feature.top.slice(0, 6).map((e) => (
              <li key={e.rank} className="example">
                <TokenText
                  tokens={e.tokens}
                  pieces={feature.pieces}
                  values={e.acts}
                  scale={feature.stats?.maxAct || e.maxAct}
                  focus={e.maxPos}
                  radius={RADIUS}
                  label={`top example ${e.rank + 1}, max activation ${formatValue(e.maxAct)}`}
                />
              </li>
            ))}
          </ol>
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
        </article>
      )}
    </>
  );
}
