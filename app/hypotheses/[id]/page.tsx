/**
 * A hypothesis: its statement, status (with the history of who changed it, when and why), votes, the features it is
 * about, its reasoning (markdown), the evidence with re-runs, and its discussion.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { cache } from 'react';
import { api } from '@/server/api/server-caller';
import { featureHref, formatFeatureAddress } from '@/server/addresses';
import { CommentThread } from '../../_components/comment-thread';
import { StatusBadge } from '../../_components/hypothesis-status';
import { LiveHypothesis } from '../../_components/live-hypothesis';
import { MarkdownView } from '../../_components/markdown-view';
import { WatchButton } from '../../_components/watch-button';
import styles from '../../_components/hypotheses.module.css';
import { orNotFound } from '../../_lib/not-found';
import { EditHypothesis, StatusForm, Votes } from './controls';
import { EvidenceItem } from './evidence-item';
import { utc } from '../../_lib/time';

type Params = { id: string };

const load = cache(async (id: string) => {
  if (!/^[0-9a-f-]{36}$/i.test(id)) notFound();
  return orNotFound((await api()).hypothesis.get({ id }));
});

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const h = await load((await params).id);
  return { title: `${h.statement.slice(0, 80)} · Hypothesis · Lexicon` };
}

export default async function HypothesisPage({ params }: { params: Promise<Params> }) {
  const h = await load((await params).id);
  const addresses = h.features.map(formatFeatureAddress);
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/hypotheses">Hypotheses</Link> / <Link href={`/hypotheses?status=${h.status}`}>{h.status}</Link>
      </nav>
      <LiveHypothesis id={h.id} />
      <div className={styles.header}>
        <h1 data-testid="hypothesis-statement">{h.statement}</h1>
        <StatusBadge status={h.status} />
        <WatchButton kind="hypothesis" targetId={h.id} />
      </div>
      <p className="muted small">
        proposed by {h.authorId ? <Link href={`/hypotheses?author=${h.authorId}`}>{h.authorName ?? 'someone'}</Link> : 'a deleted account'} on {utc(h.createdAt)}
        {h.statusChangedAt && (
          <>
            {' '}
            · {h.status} since {utc(h.statusChangedAt)}
            {h.statusChangedByName ? ` (${h.statusChangedByName})` : ''}
          </>
        )}
        {h.can.edit && (
          <>
            {' '}
            · <EditHypothesis draft={{ id: h.id, statement: h.statement, body: h.body, features: addresses }} />
          </>
        )}
      </p>
      <div className={styles.chips} aria-label="Features">
        {h.features.map((f) => (
          <Link key={`${f.saeId}/${f.index}`} href={featureHref(f)} className={styles.chip} data-testid="hypothesis-feature">
            <span className="mono">
              {f.model}/{f.sae}/{f.index}
            </span>
            {f.label ? ` · ${f.label}` : ''}
          </Link>
        ))}
      </div>
      <Votes id={h.id} score={h.score} votes={h.votes} mine={h.myVote} canVote={h.can.vote} />

      <div className={styles.columns}>
        <div>
          {h.body ? <MarkdownView html={h.html} className={styles.body} testId="hypothesis-body" /> : null}
          <section aria-labelledby="evidence-h">
            <h2 id="evidence-h">Evidence ({h.evidence.length})</h2>
            {h.evidence.length === 0 ? (
              <p className="muted small">
                None yet. Run <em>Test your text</em>, <em>Ablate</em> or <em>Steer</em> on a feature’s page and save the result here, or save a feature’s dashboard from
                its Hypotheses box.
              </p>
            ) : (
              h.evidence.map((e) => (
                <EvidenceItem
                  key={e.id}
                  hypothesisId={h.id}
                  canRerun={h.can.compute}
                  item={{ ...e, createdAt: e.createdAt.toISOString(), reruns: e.reruns.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })) }}
                />
              ))
            )}
          </section>
          <CommentThread target={{ kind: 'hypothesis', hypothesisId: h.id }} />
        </div>
        <aside>
          {h.can.edit && (
            <section className="panel" aria-labelledby="status-h">
              <h2 id="status-h" style={{ marginTop: 0 }}>
                Settle it
              </h2>
              <StatusForm id={h.id} status={h.status} />
            </section>
          )}
          <section aria-labelledby="history-h">
            <h2 id="history-h">Status history</h2>
            <ol className={styles.history} data-testid="status-history">
              {h.history.map((c, i) => (
                <li key={i}>
                  <StatusBadge status={c.status} /> {c.userName ?? 'someone'} · {utc(c.createdAt)}
                  {c.note && <div className="muted">{c.note}</div>}
                </li>
              ))}
            </ol>
          </section>
        </aside>
      </div>
    </>
  );
}
