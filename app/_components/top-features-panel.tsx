'use client';
/** The SAE page's "Which features fire on my text?": a search-by-inference job, its status, then the features found. */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { doneResult } from '@/jobs';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { JobStatus, useJob } from './job-status';
import { TopFeaturesView } from './results/top-features';

export function TopFeaturesPanel({ model, sae, canCompute }: { model: string; sae: string; canCompute: boolean }) {
  const trpc = useTRPC();
  const [text, setText] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useJob(jobId);
  const current = jobId ? job.data : undefined;
  const result = useMemo(() => doneResult('top-features', current), [current]);
  const run = useMutation(trpc.sae.topFeatures.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
  return (
    <section className="panel" aria-labelledby="top-features-h" data-testid="top-features">
      <h2 id="top-features-h">Which features fire on my text?</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          run.mutate({ model, sae, input: { text } });
        }}
      >
        <label>
          Text
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={2} spellCheck={false} data-testid="top-features-text" />
        </label>
        <div className="row">
          <button type="submit" disabled={!canCompute || run.isPending || text.trim() === ''} data-testid="run-top-features">
            Run
          </button>
          {!canCompute && (
            <span className="muted">
              <Link href="/signin">Sign in</Link> to run the model on your own text.
            </span>
          )}
        </div>
      </form>
      <ErrorLine error={run.error} />
      {current && <JobStatus job={current} testId="top-features-job" />}
      {result && <TopFeaturesView result={result} address={{ model, sae }} testId="top-features" />}
    </section>
  );
}
