import Link from 'next/link';
import type { Metadata } from 'next';
import { api } from '@/server/api/server-caller';
import { canMakeLists, type ListSummary } from '@/server/lists';
import { NewListForm } from '../_components/list-editor';
import { day } from '../_lib/time';

export const metadata: Metadata = { title: 'Lists · Lexicon' };

function ListTable({ lists, testId }: { lists: ListSummary[]; testId: string }) {
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            <th>list</th>
            <th>description</th>
            <th className="num">features</th>
            <th>by</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {lists.map((l) => (
            <tr key={l.id}>
              <td>
                <Link href={`/lists/${l.id}`}>{l.name}</Link>
              </td>
              <td className="small">{l.description.length > 140 ? `${l.description.slice(0, 140)}…` : l.description}</td>
              <td className="num">{l.entries}</td>
              <td>{l.ownerName ?? <span className="muted">—</span>}</td>
              <td className="nowrap">{day(l.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Feature lists: your own, everyone's newest, and a form to start one. */
export default async function ListsPage() {
  const caller = await api();
  const [{ recent, mine }, me] = await Promise.all([caller.list.index(), caller.auth.me()]);
  const canEdit = canMakeLists(me);
  return (
    <>
      <h1>Feature lists</h1>
      <p className="muted">Named collections of features with a note on each: share one by its link.</p>
      {canEdit ? (
        <NewListForm />
      ) : (
        <p className="muted">
          <Link href="/signin">Sign in</Link> as an editor to make lists.
        </p>
      )}
      {me && (
        <section>
          <h2>Your lists</h2>
          {mine.length === 0 ? <p className="muted">None yet.</p> : <ListTable lists={mine} testId="my-lists" />}
        </section>
      )}
      <section>
        <h2>Recent lists</h2>
        {recent.length === 0 ? <p className="muted">Nobody has made a list yet.</p> : <ListTable lists={recent} testId="recent-lists" />}
      </section>
    </>
  );
}
