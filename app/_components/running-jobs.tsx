'use client';
/**
 * The home page's queued and running jobs, polled every two seconds while any is under way; when one finishes the
 * page is refreshed (the SAE list and labelling progress it computed change).
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef } from 'react';
import type { ActiveJob } from '@/server/activity';
import { modelHref, saeHref } from '@/server/addresses';
import { useTRPC } from '../trpc';
import { ago } from '../_lib/time';

const POLL_MS = 2000;

export function RunningJobs({ jobs: initial, now }: { jobs: ActiveJob[]; now: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const query = useQuery({
    ...trpc.activity.jobs.queryOptions(),
    initialData: initial,
    initialDataUpdatedAt: now,
    refetchInterval: (q) => ((q.state.data?.length ?? 0) > 0 ? POLL_MS : false),
  });
  const jobs = query.data;

  // A job that left the list finished (or failed): re-render the server page around it.
  const shown = useRef(new Set(initial.map((j) => j.id)));
  useEffect(() => {
    const ids = new Set(jobs.map((j) => j.id));
    if ([...shown.current].some((id) => !ids.has(id))) router.refresh();
    shown.current = ids;
  }, [jobs, router]);

  const at = query.dataUpdatedAt || now;
  return (
    <section data-testid="running-jobs" aria-live="polite">
      <h2>Jobs under way</h2>
      {jobs.length === 0 ? (
        <p className="muted">No job is queued or running.</p>
      ) : (
        <ul className="activity">
          {jobs.map((j) => (
            <li key={j.id} data-testid="running-job" data-job-id={j.id}>
              <span className={`status ${j.status}`}>{j.status}</span> <strong>{j.type}</strong>
              {j.model && (
                <>
                  {' '}
                  on{' '}
                  <Link href={j.sae ? saeHref({ model: j.model, sae: j.sae }) : modelHref(j.model)} className="mono">
                    {j.model}
                    {j.sae ? `/${j.sae}` : ''}
                  </Link>
                </>
              )}
              <div className="muted small">
                {j.status === 'running' ? `${Math.round(100 * j.progress)}% · started ${ago(j.startedAt ?? j.createdAt, at)}` : `queued ${ago(j.createdAt, at)}`}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
