'use client';
/**
 * Automatic explanations: the SAE page's panel (maintainers start a job over the SAE's features and follow it; anyone
 * sees its progress, counts and the endpoint's model) and the feature page's "Explain this feature" (editors). Without
 * an endpoint both say what an admin has to set.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { doneResult } from '@/jobs';
import type { ProgressDetail } from '@/jobs/types';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { JobStatus, useJob } from './job-status';
import { parseNumberList } from './number-list';

type Address = { model: string; sae: string };

/** The counts a running job reports, or a finished one's result. */
function ExplainCounts({ id, initial }: { id: string; initial?: Parameters<typeof useJob>[1] }) {
  const trpc = useTRPC();
  const job = useJob(id, initial);
  const current = job.data;
  const result = useMemo(() => doneResult('explain', current), [current]);
  const cancel = useMutation(trpc.job.cancel.mutationOptions({ onSuccess: () => void job.refetch() }));
  if (!current) return null;
  const detail = current.progressDetail as (ProgressDetail & { explained?: number; failed?: number; skipped?: number; waitingSeconds?: number }) | null;
  const running = current.status === 'queued' || current.status === 'running';
  return (
    <div data-testid="explain-job">
      <div className="row">
        <JobStatus job={current} showProgress testId="explain-job-status" />
        {running && !current.redacted && (
          <button type="button" className="link" onClick={() => cancel.mutate({ id })} disabled={cancel.isPending}>
            Cancel
          </button>
        )}
      </div>
      {running && detail?.explained !== undefined && (
        <p className="muted" data-testid="explain-progress">
          {detail.explained} explained · {detail.failed} failed · {detail.skipped} already explained
          {detail.waitingSeconds !== undefined && <> · rate limited: waited {detail.waitingSeconds} s</>}
        </p>
      )}
      {result && (
        <div data-testid="explain-result">
          <p>
            {result.model}: <strong>{result.explained}</strong> explained
            {result.meanBalancedAccuracy !== null && <> (mean detection balanced accuracy {result.meanBalancedAccuracy.toFixed(2)})</>} · {result.failed} failed ·{' '}
            {result.skipped} already explained by it · {result.alreadyProposed} gave a label already proposed · {result.dead} not firing
          </p>
          {result.errors.length > 0 && (
            <details>
              <summary>Failures{result.failed > result.errors.length && ` (the first ${result.errors.length})`}</summary>
              <ul className="small">
                {result.errors.map((e) => (
                  <li key={e.feature}>
                    feature {e.feature}: {e.error}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </div>
      )}
      <ErrorLine error={cancel.error} />
    </div>
  );
}

/** The SAE page's panel. */
export function ExplainPanel({ model, sae }: Address) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const panel = useQuery(trpc.sae.explainer.queryOptions({ model, sae }));
  const [text, setText] = useState('');
  const features = parseNumberList(text, { range: true });
  const start = useMutation(trpc.sae.explain.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.sae.explainer.queryFilter({ model, sae })) }));
  const data = panel.data;
  return (
    <section className="panel" aria-labelledby="explain-h" data-testid="explain-panel">
      <h2 id="explain-h">Automatic explanations</h2>
      {data &&
        (data.endpoint.configured ? (
          <p className="muted">
            Labels proposed by <strong data-testid="explain-model">{data.endpoint.model}</strong> from each feature&apos;s top examples, scored by
            detection (how well the label tells held-out examples from contexts where the feature does not fire). They are proposals: votes
            choose the label.
          </p>
        ) : (
          <p className="muted" data-testid="explain-not-configured">
            {data.endpoint.notConfigured}
          </p>
        ))}
      {data?.can.manage && data.endpoint.configured && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (features !== null) start.mutate({ model, sae, features });
          }}
        >
          <label>
            Features{' '}
            <input
              value={text}
              onChange={(e) => setText(e.target.value)}
              placeholder="all live"
              size={14}
              aria-invalid={features === null}
              title="empty: every live feature; 0-99: a range; 3, 5, 8: a list"
              data-testid="explain-features"
            />
          </label>
          <button type="submit" disabled={start.isPending || features === null || !data.hasDashboards} data-testid="explain-start">
            Explain features
          </button>
          {!data.hasDashboards && <span className="muted">Compute the dashboards first: the explainer reads the top examples.</span>}
        </form>
      )}
      <ErrorLine error={start.error} />
      {data?.job && <ExplainCounts key={data.job.id} id={data.job.id} initial={data.job} />}
    </section>
  );
}

/** The feature page's button (editors): a one-feature job; its proposal appears among the label proposals when done. */
export function ExplainFeatureButton({ model, sae, index }: Address & { index: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const panel = useQuery(trpc.sae.explainer.queryOptions({ model, sae }));
  const [jobId, setJobId] = useState<string | null>(null);
  const start = useMutation(trpc.feature.explain.mutationOptions({ onSuccess: (job) => setJobId(job.id) }));
  const job = useJob(jobId);
  const status = job.data?.status;
  useEffect(() => {
    if (status !== 'done') return;
    void queryClient.invalidateQueries(trpc.wiki.proposals.queryFilter({ model, sae, index }));
    router.refresh();
  }, [status, queryClient, trpc, router, model, sae, index]);
  const endpoint = panel.data?.endpoint;
  if (!endpoint) return null;
  if (!endpoint.configured)
    return (
      <p className="muted small" data-testid="explain-not-configured">
        Explain this feature: {endpoint.notConfigured}
      </p>
    );
  const running = status === 'queued' || status === 'running';
  return (
    <div className="row" data-testid="explain-feature">
      <button type="button" className="secondary small-button" disabled={start.isPending || running} onClick={() => start.mutate({ model, sae, index })}>
        Explain this feature
      </button>
      <span className="muted small">asks {endpoint.model} for a label, scored by detection</span>
      {job.data && <JobStatus job={job.data} testId="explain-feature-job" />}
      <ErrorLine error={start.error} inline small />
    </div>
  );
}
