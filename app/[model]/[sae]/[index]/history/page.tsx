/**
 * A feature's history, /{model}/{sae}/{index}/history: every revision of its label and description (author, time,
 * summary), a word-level diff between any two (?from=N&to=M, chosen with the radio buttons; works without
 * JavaScript), and, for editors, revert to any earlier revision (a new revision, refused when the page moved on).
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { api } from '@/server/api/server-caller';
import { featureHref, formatFeatureAddress, modelHref, saeHref, userHref } from '@/server/addresses';
import styles from '../../../../_components/wiki.module.css';
import { DiffLegend, WordDiff } from '../../../../_components/word-diff';
import { orNotFound } from '../../../../_lib/not-found';
import { RevertButton } from './revert-button';
import { ErrorLine } from '../../../../_components/error-line';
import { utc } from '../../../../_lib/time';

type Params = { model: string; sae: string; index: string };
type Search = { from?: string; to?: string };

function parseNumber(raw: string | undefined): number | null {
  return raw && /^\d{1,10}$/.test(raw) && Number(raw) <= 2 ** 31 - 1 ? Number(raw) : null;
}

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { model, sae, index } = await params;
  return { title: `History of ${model}/${sae}/${index} · Lexicon` };
}

export default async function HistoryPage({ params, searchParams }: { params: Promise<Params>; searchParams: Promise<Search> }) {
  const { model, sae, index: rawIndex } = await params;
  const search = await searchParams;
  const index = parseNumber(rawIndex);
  if (index === null) notFound();
  const address = { model, sae, index };
  const caller = await api();
  const { revisions: history, can } = await orNotFound(caller.wiki.history(address));
  const path = featureHref(address);
  const current = history[0]?.revision ?? 0;
  const canEdit = can.edit;

  // Default comparison: the latest change (previous → current).
  const to = parseNumber(search.to) ?? (current >= 1 ? current : null);
  const from = parseNumber(search.from) ?? (to !== null && to > 1 ? to - 1 : null);
  let diff: Awaited<ReturnType<typeof caller.wiki.compare>> | null = null;
  let diffError: string | null = null;
  if (from !== null && to !== null) {
    try {
      diff = await caller.wiki.compare({ ...address, from, to });
    } catch (err) {
      diffError = (err as Error).message;
    }
  }

  return (
    <div>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href={modelHref(model)}>{model}</Link> / <Link href={saeHref({ model, sae })}>{sae}</Link> / <Link href={path}>{index}</Link> / history
      </nav>
      <h1>
        History of <Link href={path} className="mono">{formatFeatureAddress(address)}</Link>{' '}
        {history[0]?.label && <span data-testid="history-label">{history[0].label}</span>}
      </h1>
      {history.length === 0 ? (
        <p className="muted" data-testid="no-history">
          No revisions yet: nobody has labelled or described this feature.
        </p>
      ) : (
        <form method="get" aria-label="Compare revisions">
          <div className="table-scroll">
            <table className={styles.history} data-testid="history">
              <thead>
                <tr>
                  <th scope="col">from</th>
                  <th scope="col">to</th>
                  <th scope="col">revision</th>
                  <th scope="col">label</th>
                  <th scope="col">summary</th>
                  <th scope="col">author</th>
                  <th scope="col">time</th>
                  <th scope="col" className="num">description</th>
                  {canEdit && <th scope="col" aria-label="revert" />}
                </tr>
              </thead>
              <tbody>
                {history.map((r) => (
                  <tr key={r.revision} data-testid={`revision-${r.revision}`} className={r.revision === current ? styles.current : undefined}>
                    <td className={styles.pick}>
                      <input type="radio" name="from" value={r.revision} defaultChecked={r.revision === from} aria-label={`compare from revision ${r.revision}`} />
                    </td>
                    <td className={styles.pick}>
                      <input type="radio" name="to" value={r.revision} defaultChecked={r.revision === to} aria-label={`compare to revision ${r.revision}`} />
                    </td>
                    <td className="mono">
                      {r.revision}
                      {r.revision === current && <span className="muted"> (current)</span>}
                    </td>
                    <td>{r.label || <span className="muted">unlabelled</span>}</td>
                    <td>{r.summary || <span className="muted">—</span>}</td>
                    <td>{r.author ? <Link href={userHref(r.author.id)}>{r.author.name}</Link> : <span className="muted">deleted user</span>}</td>
                    <td className="nowrap">{utc(r.createdAt)}</td>
                    <td className="num">{r.bodyLength.toLocaleString('en')} chars</td>
                    {canEdit && (
                      <td>{r.revision !== current && <RevertButton address={address} revision={r.revision} baseRevision={current} />}</td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="row" style={{ marginTop: 8 }}>
            <button type="submit" data-testid="compare">
              Compare selected revisions
            </button>
            <Link href={path}>Back to the feature</Link>
          </div>
        </form>
      )}

      <ErrorLine error={diffError} />
      {diff && (
        <section aria-labelledby="diff-h" data-testid="diff">
          <h2 id="diff-h">
            Changes from revision {diff.from.revision} to revision {diff.to.revision}
          </h2>
          <DiffLegend />
          <h3 className="small">Label</h3>
          <WordDiff parts={diff.label} testId="diff-label" />
          <h3 className="small">Description</h3>
          <WordDiff parts={diff.body} testId="diff-body" />
        </section>
      )}
    </div>
  );
}
