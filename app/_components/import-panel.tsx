'use client';
/**
 * "Import dashboards" on the SAE page, for its maintainers: a Neuronpedia export's source folder or SAEDashboard's
 * output, from a base URL (or, for admins, a directory on the server), imported by a job whose progress shows here;
 * when it is done the page shows the imported run, and what became of the export's decoder vectors. Server:
 * sae.importDashboards, server/exchange.
 */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { doneResult } from '@/jobs';
import { describeVectors } from '@/jobs/kinds/import';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { JobStatus, useJob } from './job-status';

export function ImportPanel({ model, sae }: { model: string; sae: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [format, setFormat] = useState<'neuronpedia' | 'saedashboard'>('neuronpedia');
  const [location, setLocation] = useState('');
  const start = useMutation(trpc.sae.importDashboards.mutationOptions());
  const job = useJob(start.data?.jobId ?? null);
  const result = doneResult('import', job.data);
  const vectors = result?.vectors && describeVectors(result.vectors);
  const running = start.isPending || job.data?.status === 'queued' || job.data?.status === 'running';
  useEffect(() => {
    if (result && !result.unchanged) router.refresh();
  }, [result, router]);
  return (
    <details className="panel" data-testid="import-panel">
      <summary>Import dashboards from Neuronpedia or SAEDashboard</summary>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          start.mutate({ model, sae, format, location });
        }}
      >
        <select aria-label="Format" value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
          <option value="neuronpedia">Neuronpedia export (source folder)</option>
          <option value="saedashboard">SAEDashboard output (batch-N.json)</option>
        </select>
        <input
          aria-label="Location"
          placeholder="https://…/<modelId>/<sourceId> (admins: also a directory on the server)"
          value={location}
          onChange={(e) => setLocation(e.target.value)}
          style={{ flex: 1 }}
          required
        />
        <button type="submit" disabled={running || location.trim() === ''}>
          Import
        </button>
      </form>
      <ErrorLine error={start.error} />
      {job.data && <JobStatus job={job.data} showProgress testId="import-job" />}
      {result && (
        <p data-testid="import-result">
          {result.unchanged
            ? 'The current dashboards were imported from these very files: nothing to do.'
            : `Imported ${result.features} features, ${result.examples} examples and ${result.explanations} explanations (proposed as labels); they are the current dashboards now.`}
        </p>
      )}
      {vectors && (
        <p data-testid="import-vectors" className={result?.vectors?.mismatched ? 'error' : undefined}>
          {vectors}
        </p>
      )}
    </details>
  );
}
