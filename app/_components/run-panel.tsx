'use client';
/**
 * Run the model on a prompt through the worker: status while it runs, then per-position predictions. Other accounts'
 * runs are listed as runs only (job.get/recent leave out their prompts and results, `redacted`).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { doneResult, type JobResult } from '@/jobs';
import type { JobView as Job } from '@/server/jobs';
import { displayPiece } from '@/server/token-piece';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { NextTokens } from './results/next-tokens';

const GENERATE_TOKENS = 48;

export function RunPanel(props: { model: string; contextLength: number; initialRecent: Job[]; signedIn: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [prompt, setPrompt] = useState('Once upon a time');
  const [jobId, setJobId] = useState<string | null>(props.initialRecent.find((r) => !r.redacted)?.id ?? null);

  const run = useMutation(
    trpc.job.run.mutationOptions({
      onSuccess: ({ id }) => {
        setJobId(id);
        void queryClient.invalidateQueries({ queryKey: trpc.job.recent.queryKey() });
      },
    }),
  );
  const recent = useQuery({
    ...trpc.job.recent.queryOptions({ model: props.model }),
    initialData: props.initialRecent,
  });
  const job = useQuery({
    ...trpc.job.get.queryOptions({ id: jobId ?? '00000000-0000-0000-0000-000000000000' }),
    enabled: jobId !== null,
    refetchInterval: (q) => {
      const status = q.state.data?.status;
      return status === 'queued' || status === 'running' ? 300 : false;
    },
  });
  const finished = job.data && (job.data.status === 'done' || job.data.status === 'failed');
  if (finished && recent.data?.find((r) => r.id === job.data!.id)?.status !== job.data!.status) {
    void queryClient.invalidateQueries({ queryKey: trpc.job.recent.queryKey() });
  }

  const submit = (generate: number) => run.mutate({ model: props.model, input: { text: prompt }, top: 5, generate });

  return (
    <>
      <section className="panel" aria-label="Run the model">
        <h2>Run on your text</h2>
        {!props.signedIn && (
          <p className="muted">
            <Link href="/signin">Sign in</Link> to run the model.
          </p>
        )}
        <textarea
          aria-label="Prompt"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          placeholder="Type a prompt"
        />
        <div className="row">
          <button onClick={() => submit(0)} disabled={!props.signedIn || run.isPending}>
            Run
          </button>
          <button className="secondary" onClick={() => submit(GENERATE_TOKENS)} disabled={!props.signedIn || run.isPending}>
            Generate
          </button>
          <span className="muted">top-5 next-token predictions per position; Generate continues greedily ({GENERATE_TOKENS} tokens)</span>
        </div>
        <ErrorLine error={run.error} />
      </section>
      {job.data && <JobView job={job.data} />}
      <h2>Recent runs</h2>
      <table>
        <tbody>
          {recent.data?.map((r) => (
            <tr key={r.id}>
              <td>
                <span className={`status ${r.status}`}>{r.status}</span>
              </td>
              <td className="mono">
                {r.redacted ? (
                  <span className="muted">{promptOf(r)}</span>
                ) : (
                  <button className="link" onClick={() => setJobId(r.id)}>
                    {promptOf(r)}
                  </button>
                )}
              </td>
              <td className="muted">{new Date(r.createdAt).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function promptOf(job: Job): string {
  if (job.redacted) return '(another account’s run)';
  const input = (job.params as { input?: { text?: string; tokenIds?: number[] } }).input;
  const text = input?.text ?? input?.tokenIds?.join(',') ?? '';
  return text.length > 80 ? `${text.slice(0, 80)}…` : text || '(empty)';
}

function JobView({ job }: { job: Job }) {
  const result = doneResult('run', job);
  return (
    <section className="panel" aria-label="Run result">
      <div className="row">
        <span className={`status ${job.status}`} data-testid="job-status">
          {job.status}
        </span>
        <span className="mono">{promptOf(job)}</span>
      </div>
      <ErrorLine error={job.status === 'failed' && (job.error ?? 'the job failed')} />
      {result && <Predictions result={result} />}
    </section>
  );
}

function Predictions({ result }: { result: JobResult<'run'> }) {
  return (
    <>
      {result.generated.length > 0 && (
        <p data-testid="generated">
          <strong>Continuation:</strong> <span className="mono">{result.generatedText}</span>
        </p>
      )}
      <div className="predictions">
        <table data-testid="predictions">
          <thead>
            <tr>
              <th>pos</th>
              <th>token</th>
              <th>top-5 next tokens (probability)</th>
            </tr>
          </thead>
          <tbody>
            {result.tokens.map((id, pos) => (
              <tr key={pos}>
                <td className="muted">{pos}</td>
                <td>
                  <span className="tok mono" title={`id ${id}`}>
                    {displayPiece(result.pieces[pos]!)}
                  </span>
                </td>
                <td>
                  <NextTokens tokens={result.top[pos]!} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
