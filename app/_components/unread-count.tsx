'use client';
/** "Notifications" in the header with the unread count, kept current by the notifications subscription. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import { useTRPC } from '../trpc';

export function UnreadCount() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const count = useQuery(trpc.notification.unreadCount.queryOptions());
  useSubscription(
    trpc.live.notifications.subscriptionOptions(undefined, {
      // a new notification, or a resync after a lost connection: count again
      onData: () => void queryClient.invalidateQueries({ queryKey: trpc.notification.pathKey() }),
    }),
  );
  const n = count.data ?? 0;
  return (
    <Link href="/notifications" data-testid="notifications-link" aria-label={n > 0 ? `Notifications, ${n} unread` : 'Notifications'}>
      Notifications
      {n > 0 && (
        <span className="unread-badge" data-testid="unread-count">
          {n}
        </span>
      )}
    </Link>
  );
}
