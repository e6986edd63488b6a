/** /notifications: what happened to what you watch, and where you were mentioned; newest first, unread marked. */
import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { MarkAllRead, MarkRead, RefreshOnNotification } from './actions';
import { utc } from '../_lib/time';

export const metadata: Metadata = { title: 'Notifications · Lexicon' };

const KIND_NAMES: Record<string, string> = {
  mention: 'mention',
  comment: 'comment',
  label: 'label',
  'hypothesis-status': 'hypothesis',
  evidence: 'evidence',
  job: 'recompute',
};

export default async function NotificationsPage({ searchParams }: { searchParams: Promise<{ unread?: string }> }) {
  const caller = await api();
  const me = await caller.auth.me();
  if (!me)
    return (
      <p className="panel">
        <Link href="/signin?callbackUrl=/notifications">Sign in</Link> to see your notifications.
      </p>
    );
  const unreadOnly = (await searchParams).unread === '1';
  const [items, unread] = await Promise.all([caller.notification.list({ limit: 100, unreadOnly }), caller.notification.unreadCount()]);
  return (
    <>
      <RefreshOnNotification />
      <div className="row spread">
        <h1>Notifications</h1>
        <div className="row">
          <span className="tabs">
            <Link href="/notifications" className={`tab${unreadOnly ? '' : ' active'}`}>
              all
            </Link>
            <Link href="/notifications?unread=1" className={`tab${unreadOnly ? ' active' : ''}`}>
              unread ({unread})
            </Link>
          </span>
          {unread > 0 && <MarkAllRead />}
        </div>
      </div>
      {items.length === 0 ? (
        <p className="muted" data-testid="no-notifications">
          {unreadOnly ? 'Nothing unread.' : 'No notifications yet. Watch a feature, an SAE or a hypothesis to hear when it changes.'}
        </p>
      ) : (
        <ul className="notifications" data-testid="notifications">
          {items.map((n) => (
            <li key={n.id} className={n.readAt ? 'read' : 'unread'} data-testid="notification" data-unread={n.readAt ? undefined : ''}>
              <span className="tag">{KIND_NAMES[n.kind] ?? n.kind}</span>
              {n.hidden ? <span className="muted" data-testid="notification-hidden">{n.summary}</span> : <Link href={n.url}>{n.summary}</Link>}
              <span className="muted small">
                {n.actor && <>{n.actor} · </>}
                {utc(n.createdAt)}
              </span>
              {!n.readAt && <MarkRead id={n.id} />}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
