'use client';
/**
 * Watch / Unwatch a feature (`${saeId}/${index}`), an SAE (its id) or a hypothesis (its id): watchers get a
 * notification when it changes. Shown to signed-in users only.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';

export function WatchButton({ kind, targetId }: { kind: 'feature' | 'sae' | 'hypothesis'; targetId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = { kind, targetId };
  const watching = useQuery(trpc.notification.watching.queryOptions(key));
  const toggle = useMutation(
    trpc.notification.watch.mutationOptions({
      onSuccess: (now) => queryClient.setQueryData(trpc.notification.watching.queryKey(key), now),
    }),
  );
  if (watching.data === null || watching.data === undefined) return null;
  const on = watching.data;
  return (
    <span className="watch">
      <button
        type="button"
        className="secondary small"
        data-testid="watch-button"
        aria-pressed={on}
        disabled={toggle.isPending}
        title={on ? 'You get a notification when this changes' : `Get a notification when this ${kind} changes`}
        onClick={() => toggle.mutate({ ...key, watching: !on })}
      >
        {on ? 'Unwatch' : 'Watch'}
      </button>
      {toggle.error && ' '}
      <ErrorLine error={toggle.error} inline small />
    </span>
  );
}
