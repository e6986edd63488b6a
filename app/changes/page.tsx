/**
 * Recent changes across the wiki, /changes: feature revisions (edits, reverts, labels chosen by vote), newest first,
 * filtered by model, SAE and user (?model=&sae=&user=, the user by name, @handle or id), paged by keyset (?after=cursor).
 * Only what the viewer can see.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { ChangeList } from '../_components/change-list';
import { ErrorLine } from '../_components/error-line';
import { userHref } from '@/server/addresses';

export const metadata: Metadata = { title: 'Recent changes · Lexicon' };

type Search = { model?: string; sae?: string; user?: string; after?: string };

const clean = (v: string | undefined) => (v && v.trim() ? v.trim().slice(0, 200) : undefined);

export default async function ChangesPage({ searchParams }: { searchParams: Promise<Search> }) {
  const raw = await searchParams;
  const filter = { model: clean(raw.model), sae: clean(raw.sae), user: clean(raw.user) };
  const caller = await api();
  let page: Awaited<ReturnType<typeof caller.wiki.changes>> = { changes: [], next: null };
  let error: string | null = null;
  try {
    page = await caller.wiki.changes({ ...filter, after: clean(raw.after) });
  } catch (err) {
    error = (err as Error).message;
  }
  const query = (extra: Record<string, string | undefined>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...filter, ...extra })) if (v) params.set(k, v);
    const s = params.toString();
    return s ? `/changes?${s}` : '/changes';
  };
  // a handle may name several accounts: link each author the filter found
  const authors = [...new Map(page.changes.flatMap((c) => (c.author ? [[c.author.id, c.author] as const] : []))).values()];

  return (
    <div>
      <h1>Recent changes</h1>
      <form method="get" className="filters" aria-label="Filter changes">
        <label>
          Model
          <input name="model" defaultValue={filter.model ?? ''} placeholder="any" />
        </label>
        <label>
          SAE
          <input name="sae" defaultValue={filter.sae ?? ''} placeholder="any" />
        </label>
        <label>
          User
          <input name="user" defaultValue={filter.user ?? ''} placeholder="name, @handle or id" />
        </label>
        <button type="submit">Filter</button>
        {(filter.model || filter.sae || filter.user) && <Link href="/changes">Clear</Link>}
      </form>
      {filter.user && (
        <p className="muted" data-testid="changes-by">
          Changes by{' '}
          {authors.length === 0 ? (
            <span className="mono">{filter.user}</span>
          ) : (
            authors.map((a, i) => (
              <span key={a.id}>
                {i > 0 && ', '}
                <Link href={userHref(a.id)}>{a.name}</Link>
              </span>
            ))
          )}
        </p>
      )}
      {error ? (
        <ErrorLine error={error} />
      ) : (
        <ChangeList changes={page.changes} />
      )}
      <nav className="pager" aria-label="Pages">
        {raw.after && <Link href={query({})}>Newest</Link>}
        {page.next && (
          <Link href={query({ after: page.next })} rel="next" data-testid="older-changes">
            Older changes →
          </Link>
        )}
      </nav>
    </div>
  );
}
