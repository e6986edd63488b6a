'use client';
/**
 * A compute job as a panel follows it: polled while queued or running, then its status, progress (phase, units
 * done, rate, ETA) and error, as the worker wrote them to the job record.
 */
import { useQuery } from '@tanstack/react-query';
import type { JobRow, JobView } from '@/server/jobs';
import type { ProgressDetail } from '@/jobs/types';
import { describeProgress } from '../_lib/progress';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';

const NO_JOB = '00000000-0000-0000-0000-000000000000';

/** The job record (as job.get shows it to this reader), refetched twice a second until it is done, failed or cancelled. */
export function useJob(id: string | null, initial?: JobView | null) {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.job.get.queryOptions({ id: id ?? NO_JOB }),
    enabled: id !== null,
    initialData: initial && initial.id === id ? initial : undefined,
    refetchInterval: (q) => {
      const status = q.state.data?.status;
      return status === undefined || status === 'queued' || status === 'running' ? 500 : false;
    },
  });
}

export type JobSummary = Pick<JobRow, 'id' | 'status' | 'progress' | 'error'> & { progressDetail: unknown };

export function JobStatus({ job, showProgress = false, testId }: { job: JobSummary; showProgress?: boolean; testId?: string }) {
  const detail = job.progressDetail as ProgressDetail | null;
  const percent = Math.round(100 * job.progress);
  const running = job.status === 'queued' || job.status === 'running';
  return (
    <div className="job-status" data-testid={testId}>
      <div className="row">
        <span className={`status ${job.status}`} data-testid={testId ? `${testId}-state` : undefined}>
          {job.status}
        </span>
        {showProgress && running && (
          <>
            <progress max={100} value={job.status === 'queued' ? undefined : percent} aria-label="Progress" style={{ width: 200 }} />
            <span className="mono">{job.status === 'queued' ? 'waiting for a worker…' : `${percent}%`}</span>
          </>
        )}
        {!showProgress && running && <span className="muted">{job.status === 'queued' ? 'waiting for a worker…' : 'computing…'}</span>}
      </div>
      {showProgress && job.status === 'running' && detail && <p className="muted mono job-detail">{describeProgress(detail)}</p>}
      <ErrorLine error={job.status === 'failed' && (job.error ?? 'the job failed')} />
      {job.status === 'cancelled' && <p className="muted">The job was cancelled.</p>}
    </div>
  );
}
