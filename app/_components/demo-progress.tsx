'use client';
/**
 * The demo workspace's setup on the home page: the demo job's step, percentage, rate and ETA while it runs (polled),
 * its error if it failed, and a refresh of the page (which lists the SAEs) when it is done.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useRef } from 'react';
import type { JobView } from '@/server/jobs';
import type { ProgressDetail } from '@/jobs/types';
import { describeProgress, formatSeconds } from '../_lib/progress';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';

export function DemoProgress(props: { initial: JobView | null; canCancel: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const job = useQuery({
    ...trpc.job.latest.queryOptions({ type: 'demo' }),
    initialData: props.initial,
    refetchInterval: (q) => {
      const status = q.state.data?.status;
      return status === 'queued' || status === 'running' ? 1000 : false;
    },
  });
  const cancel = useMutation(trpc.job.cancel.mutationOptions({ onSuccess: () => void job.refetch() }));

  // When the demo finishes, re-render the server page: it lists the new SAEs.
  const lastStatus = useRef(props.initial?.status);
  const status = job.data?.status;
  useEffect(() => {
    if (lastStatus.current !== status && (status === 'done' || status === 'failed')) router.refresh();
    lastStatus.current = status;
  }, [status, router]);

  const data = job.data;
  if (!data) return null;
  if (data.status === 'done') return null; // the SAEs are listed below
  const detail = data.progressDetail as ProgressDetail | null;
  const percent = Math.round(100 * data.progress);
  const eta = (detail?.jobEtaSeconds as number | null | undefined) ?? null;

  return (
    <section className="panel" aria-label="Demo workspace" data-testid="demo-progress">
      <h2>Setting up the stories260K demo</h2>
      {data.status === 'failed' ? (
        <ErrorLine error={data.error ? `The demo failed: ${data.error}` : 'The demo failed.'} />
      ) : data.status === 'cancelled' ? (
        <p className="muted">The demo was cancelled. Run <code>npm run demo</code> to set it up.</p>
      ) : (
        <>
          <div className="row">
            <span className={`status ${data.status}`}>{data.status}</span>
            <progress max={100} value={percent} aria-label="Demo progress" style={{ width: 240 }} />
            <strong>{percent}%</strong>
            {detail?.step && (
              <span>
                step {detail.stepNumber}/{detail.steps}: <span className="mono">{detail.step}</span>
              </span>
            )}
            {props.canCancel && (
              <button className="secondary" onClick={() => cancel.mutate({ id: data.id })} disabled={cancel.isPending}>
                Cancel
              </button>
            )}
          </div>
          <p className="muted" data-testid="demo-detail">
            {data.status === 'queued' ? 'waiting for a worker…' : describe(detail)}
            {eta !== null && ` · about ${formatSeconds(eta)} left`}
          </p>
          <p className="muted">
            A model, a corpus sampled from it, SAEs at two hooks, their feature dashboards and evals. You can browse as soon as it finishes.
          </p>
          <ErrorLine error={cancel.error} />
        </>
      )}
    </section>
  );
}

function describe(detail: ProgressDetail | null): string {
  return detail ? describeProgress(detail, { eta: false }) : 'starting…';
}
