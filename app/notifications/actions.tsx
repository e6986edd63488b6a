'use client';
/** The notifications page's buttons (mark read, mark all read), and its live refresh when a notification arrives. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useRouter } from 'next/navigation';
import { useTRPC } from '../trpc';

function useAfterChange() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  return () => {
    router.refresh();
    void queryClient.invalidateQueries({ queryKey: trpc.notification.pathKey() });
  };
}

export function MarkRead({ id }: { id: string }) {
  const trpc = useTRPC();
  const done = useAfterChange();
  const mark = useMutation(trpc.notification.markRead.mutationOptions({ onSuccess: done }));
  return (
    <button type="button" className="link small" disabled={mark.isPending} onClick={() => mark.mutate({ ids: [id] })}>
      mark read
    </button>
  );
}

export function MarkAllRead() {
  const trpc = useTRPC();
  const done = useAfterChange();
  const mark = useMutation(trpc.notification.markAllRead.mutationOptions({ onSuccess: done }));
  return (
    <button type="button" className="secondary" data-testid="mark-all-read" disabled={mark.isPending} onClick={() => mark.mutate()}>
      Mark all read
    </button>
  );
}

export function RefreshOnNotification() {
  const trpc = useTRPC();
  const router = useRouter();
  useSubscription(trpc.live.notifications.subscriptionOptions(undefined, { onData: () => router.refresh() }));
  return null;
}
