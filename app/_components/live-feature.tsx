'use client';
/**
 * Keeps a feature page current while it is open: each live event (a comment, a label change, a recompute job, a
 * hypothesis or evidence) re-renders the server parts (router.refresh) and refetches the client parts (TanStack Query);
 * shows how many people are viewing the page. Events are coalesced, so a burst costs one refresh.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { useTRPC } from '../trpc';
import { WatchButton } from './watch-button';

const REFRESH_DELAY_MS = 250;

/** A function that re-renders the page's server parts and refetches its client parts, once per burst of calls. */
export function useRefreshSoon(): () => void {
  const router = useRouter();
  const queryClient = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return () => {
    timer.current ??= setTimeout(() => {
      timer.current = null;
      router.refresh();
      void queryClient.invalidateQueries();
    }, REFRESH_DELAY_MS);
  };
}

/** The live bar under a feature page's breadcrumbs: live status, people viewing, and the watch button. */
export function LiveFeature({ model, sae, index, saeId }: { model: string; sae: string; index: number; saeId: string }) {
  const trpc = useTRPC();
  const refreshSoon = useRefreshSoon();
  const [viewing, setViewing] = useState<number | null>(null);

  const subscription = useSubscription(
    trpc.live.feature.subscriptionOptions(
      { model, sae, index },
      {
        onData: ({ data: event }) => (event.type === 'presence' ? setViewing(event.count ?? null) : refreshSoon()),
      },
    ),
  );

  const live = subscription.status === 'pending';
  return (
    <div className="live-bar">
      <p className="live-status muted small" data-testid="live-status" data-live={live ? 'on' : 'off'}>
        <span className={`live-dot${live ? ' on' : ''}`} aria-hidden />
        {live ? (
          viewing !== null && (
            <span data-testid="viewing">
              {viewing} {viewing === 1 ? 'person' : 'people'} viewing
            </span>
          )
        ) : (
          <span>{subscription.status === 'error' ? 'live updates lost; reload to see changes' : 'connecting…'}</span>
        )}
      </p>
      <WatchButton kind="feature" targetId={`${saeId}/${index}`} />
    </div>
  );
}
