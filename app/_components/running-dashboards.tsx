'use client';
/**
 * The SAE page's dashboards jobs under way, with their progress as the job records say it (for a job shared by several
 * workers: shards done of the total, tokens/s summed over the workers, time left), polled every two seconds while any
 * is queued or running. When one ends, the section goes and the page's server parts are rendered again, so that the
 * run it made (its evals, densities, features) shows without a reload.
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useTRPC } from '../trpc';
import { JobStatus } from './job-status';
import { useRefreshSoon } from './live-feature';

const POLL_MS = 2000;

export function RunningDashboards({ model, sae }: { model: string; sae: string }) {
  const trpc = useTRPC();
  const refreshSoon = useRefreshSoon();
  const query = useQuery({
    ...trpc.job.dashboards.queryOptions({ model, sae }),
    refetchInterval: (q) => ((q.state.data?.length ?? 0) > 0 ? POLL_MS : false),
  });
  const jobs = query.data ?? [];
  /** the jobs under way at the last poll */
  const underWay = useRef<string[]>([]);
  useEffect(() => {
    const ids = (query.data ?? []).map((job) => job.id);
    if (underWay.current.some((id) => !ids.includes(id))) refreshSoon();
    underWay.current = ids;
  }, [query.data, refreshSoon]);
  if (jobs.length === 0) return null;
  return (
    <section className="panel" data-testid="running-dashboards">
      <h2>Dashboards being computed</h2>
      {jobs.map((job) => (
        <JobStatus key={job.id} job={job} showProgress testId="dashboards-job" />
      ))}
    </section>
  );
}
