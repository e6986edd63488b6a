'use client';
/** Keeps a hypothesis page current while it is open: a status change, evidence or a comment re-renders it. */
import { useSubscription } from '@trpc/tanstack-react-query';
import { useTRPC } from '../trpc';
import { useRefreshSoon } from './live-feature';

export function LiveHypothesis({ id }: { id: string }) {
  const trpc = useTRPC();
  const refreshSoon = useRefreshSoon();
  useSubscription(trpc.live.hypothesis.subscriptionOptions({ id }, { onData: ({ data }) => data.type !== 'presence' && refreshSoon() }));
  return null;
}
