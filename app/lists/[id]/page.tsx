import Link from 'next/link';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { api } from '@/server/api/server-caller';
import { featureHref, formatFeatureAddress } from '@/server/addresses';
import { ListEditor } from '../../_components/list-editor';
import { orNotFound } from '../../_lib/not-found';
import { day } from '../../_lib/time';
import { formatFraction } from '../../_components/token-format';
import { CardSnippet, TopTokens } from '../../_components/feature-card';

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  const list = await (await api()).list.get({ id }).catch(() => null);
  return { title: list ? `${list.name} · Lexicon` : 'List · Lexicon' };
}

/** A feature list: readable by anyone with its link; its owner (or an admin) edits it in place. */
export default async function ListPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!/^[0-9a-f-]{36}$/i.test(id)) notFound();
  const caller = await api();
  const [list, me] = await Promise.all([orNotFound(caller.list.get({ id })), caller.auth.me()]);
  const canEdit = !!me && (me.id === list.ownerId || me.role === 'admin') && me.role !== 'viewer';
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/lists">Lists</Link> / <span>{list.name}</span>
      </nav>
      <h1>{list.name}</h1>
      <p className="muted">
        {list.entries.length} feature{list.entries.length === 1 ? '' : 's'} · by {list.ownerName ?? 'a deleted account'} · created{' '}
        {day(list.createdAt)} · share this page&apos;s address: <code>/lists/{list.id}</code>
      </p>
      {list.description && <p className="list-description">{list.description}</p>}
      {canEdit ? (
        <ListEditor list={list} />
      ) : list.entries.length === 0 ? (
        <p className="muted">This list is empty.</p>
      ) : (
        <div className="table-scroll">
          <table data-testid="list-entries">
            <thead>
              <tr>
                <th>feature</th>
                <th>label</th>
                <th>top tokens</th>
                <th>snippet</th>
                <th>note</th>
                <th className="num">density</th>
              </tr>
            </thead>
            <tbody>
              {list.entries.map((e) => (
                <tr key={formatFeatureAddress(e)}>
                  <td className="mono nowrap">
                    <Link href={featureHref(e)}>
                      {e.model}/{e.sae}/{e.index}
                    </Link>
                  </td>
                  <td>{e.label ?? <span className="muted">—</span>}</td>
                  <td>
                    <TopTokens card={e} />
                  </td>
                  <td className="snippet-cell">
                    <CardSnippet snippet={e.snippet} />
                  </td>
                  <td className="note">{e.note}</td>
                  <td className="num mono">{e.density === null ? '—' : e.density === 0 ? 'dead' : formatFraction(e.density)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
