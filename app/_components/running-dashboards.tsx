'use client';
/**
 * The SAE page's dashboards jobs under way, with their progress as the job records say it (for a job shared by several
 * workers: shards done of the total, tokens/s summed over the workers, time left), polled every two seconds while any
 * is queued or running.
 */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import { JobStatus } from './job-status';

const POLL_MS = 2000;

export function RunningDashboards({ model, sae }: { model: string; sae: string }) {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.job.dashboards.queryOptions({ model, sae }),
    refetchInterval: (q) => ((q.state.data?.length ?? 0) > 0 ? POLL_MS : false),
  });
  const jobs = query.data ?? [];
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
