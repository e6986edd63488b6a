/**
 * /hypotheses: every hypothesis the viewer may see, newest first, filtered by status, feature, SAE and author (all in
 * the URL, so a filtered view is a link), with keyset pages (?before=).
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { HYPOTHESIS_STATUSES, type HypothesisStatus } from '@/server/hypotheses';
import { formatFeatureAddress } from '@/server/addresses';
import { scoreText, StatusBadge } from '../_components/hypothesis-status';
import { ErrorLine } from '../_components/error-line';
import { day } from '../_lib/time';

export const metadata: Metadata = { title: 'Hypotheses · Lexicon' };

type Search = Record<string, string | string[] | undefined>;

export default async function HypothesesPage(props: { searchParams: Promise<Search> }) {
  const search = await props.searchParams;
  const one = (k: string) => (typeof search[k] === 'string' && search[k] !== '' ? (search[k] as string) : undefined);
  const status = HYPOTHESIS_STATUSES.includes(one('status') as HypothesisStatus) ? (one('status') as HypothesisStatus) : undefined;
  const filter = { status, feature: one('feature'), sae: one('sae'), author: one('author') };
  const caller = await api();
  let error: string | null = null;
  const [page, me] = await Promise.all([
    caller.hypothesis.list({ ...filter, before: one('before') }).catch((err: Error) => {
      error = err.message;
      return { rows: [], next: null };
    }),
    caller.auth.me(),
  ]);
  const authorName = filter.author ? page.rows.find((r) => r.authorId === filter.author)?.authorName : undefined;
  const href = (change: Record<string, string | undefined>) => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...filter, ...change })) if (v) qs.set(k, v);
    const s = qs.toString();
    return s ? `/hypotheses?${s}` : '/hypotheses';
  };
  return (
    <>
      <h1>Hypotheses</h1>
      <p className="muted">
        Statements about features, settled by evidence anyone can re-run.
        {me && (me.role === 'editor' || me.role === 'admin') && (
          <>
            {' '}
            <Link href="/hypotheses/new">Write one</Link>, or start from a feature page.
          </>
        )}
      </p>
      <form method="get" action="/hypotheses" className="filters" aria-label="Filter hypotheses">
        <label>
          Status
          <select name="status" defaultValue={status ?? ''}>
            <option value="">any</option>
            {HYPOTHESIS_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Feature
          <input name="feature" defaultValue={filter.feature ?? ''} placeholder="model/sae/index" />
        </label>
        <label className="grow">
          SAE
          <input name="sae" defaultValue={filter.sae ?? ''} placeholder="model/sae" />
        </label>
        {filter.author && <input type="hidden" name="author" value={filter.author} />}
        <button type="submit">Apply</button>
        <Link href="/hypotheses" className="small">
          Reset
        </Link>
      </form>
      {filter.author && (
        <p className="small">
          By {authorName ?? 'one author'} · <Link href={href({ author: undefined })}>anyone</Link>
        </p>
      )}
      {error ? (
        <ErrorLine error={error} />
      ) : page.rows.length === 0 ? (
        <p className="muted" data-testid="no-hypotheses">
          No hypotheses match.
        </p>
      ) : (
        <div className="table-scroll">
          <table data-testid="hypotheses-table">
            <thead>
              <tr>
                <th>status</th>
                <th>statement</th>
                <th>features</th>
                <th className="num">votes</th>
                <th className="num">evidence</th>
                <th>by</th>
                <th>proposed</th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((h) => (
                <tr key={h.id} data-testid="hypothesis-row">
                  <td>
                    <Link href={href({ status: h.status })} title={`only ${h.status}`}>
                      <StatusBadge status={h.status} />
                    </Link>
                  </td>
                  <td>
                    <Link href={`/hypotheses/${h.id}`}>{h.statement}</Link>
                  </td>
                  <td className="small">
                    {h.features.map((f) => (
                      <div key={`${f.sae}/${f.index}`}>
                        <Link href={href({ feature: formatFeatureAddress(f) })} title={f.label ?? undefined} className="mono">
                          {f.model}/{f.sae}/{f.index}
                        </Link>
                      </div>
                    ))}
                  </td>
                  <td className="num nowrap">{scoreText(h.score, h.votes)}</td>
                  <td className="num">{h.evidence}</td>
                  <td>{h.authorId ? <Link href={href({ author: h.authorId })}>{h.authorName ?? 'someone'}</Link> : <span className="muted">—</span>}</td>
                  <td className="nowrap">{day(h.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        {one('before') && <Link href={href({})}>← newest</Link>}
        {page.next && (
          <Link href={href({ before: page.next })} rel="next">
            older →
          </Link>
        )}
      </nav>
      <p className="muted small">Hypotheses about SAEs you cannot see are not listed.</p>
    </>
  );
}
