/**
 * A user's contributions, /users/{id} (or /users/@handle), with their @handle (and, on their own page, a form to
 * change their name and handle, and their API tokens): their feature revisions (paged: ?after=cursor) and label proposals with
 * votes, in what the viewer can see.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { featureHref, userHref } from '@/server/addresses';
import { ApiTokens } from '../../_components/api-tokens';
import { ChangeList } from '../../_components/change-list';
import { ProfileForm } from '../../_components/profile-form';
import { orNotFound } from '../../_lib/not-found';
import { day, utc } from '../../_lib/time';

type Params = { id: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { id } = await params;
  const data = await orNotFound((await api()).wiki.contributions({ user: decodeURIComponent(id) }));
  return { title: `${data.user.name} · Lexicon` };
}

export default async function UserPage({ params, searchParams }: { params: Promise<Params>; searchParams: Promise<{ after?: string }> }) {
  const id = decodeURIComponent((await params).id);
  const { after } = await searchParams;
  const caller = await api();
  const [{ user, revisions, proposals }, me] = await Promise.all([orNotFound(caller.wiki.contributions({ user: id, after: after || undefined })), caller.auth.me()]);
  const self = userHref(user.id);

  return (
    <div>
      <h1 data-testid="user-name">{user.name}</h1>
      <p className="muted">
        <span className="mono" data-testid="user-handle">
          @{user.handle}
        </span>{' '}
        · {user.role} · joined {day(user.joined)} · {user.revisions} revision{user.revisions === 1 ? '' : 's'} · {user.proposals} label
        proposal{user.proposals === 1 ? '' : 's'}
      </p>

      {me?.id === user.id && (
        <>
          <ProfileForm name={user.name} handle={user.handle} />
          <ApiTokens />
        </>
      )}

      <section aria-labelledby="revisions-h" data-testid="user-revisions">
        <h2 id="revisions-h">Revisions</h2>
        <ChangeList changes={revisions.changes} showAuthor={false} />
        <nav className="pager" aria-label="Pages">
          {after && <Link href={self}>Newest</Link>}
          {revisions.next && <Link href={`${self}?after=${revisions.next}`}>Older revisions →</Link>}
          <Link href={`/changes?user=${encodeURIComponent(user.id)}`}>in recent changes</Link>
        </nav>
      </section>

      <section aria-labelledby="proposals-h" data-testid="user-proposals">
        <h2 id="proposals-h">Label proposals</h2>
        {proposals.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <ul className="activity">
            {proposals.map((p) => (
              <li key={p.id} data-testid="user-proposal">
                <Link href={featureHref(p)} className="mono">
                  {p.model}/{p.sae}/{p.index}
                </Link>{' '}
                <strong>{p.label}</strong> · {p.votes} vote{p.votes === 1 ? '' : 's'}
                {p.shown && <span className="tag">shown</span>}
                <div className="muted small">{utc(p.at)}</div>
              </li>
            ))}
          </ul>
        )}
      </section>

      {/* Comments and hypotheses by this user go here, as further sections of the same shape. */}
    </div>
  );
}
