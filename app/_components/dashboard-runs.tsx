'use client';
/**
 * The SAE's kept dashboard runs (one per corpus): which is current, its corpus and token count, and for maintainers
 * a button to make another one current (switching back after a run over another corpus). Server: server/dashboards.ts.
 */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import type { DashboardRunSummary } from '@/server/dashboards';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { formatFraction } from './token-format';

export function DashboardRuns({ model, sae, runs, canManage }: { model: string; sae: string; runs: DashboardRunSummary[]; canManage: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const change = useMutation(trpc.sae.setCurrentRun.mutationOptions({ onSuccess: () => router.refresh() }));
  if (runs.length < 2) return null;
  const current = runs.find((r) => r.current);
  return (
    <details className="panel" data-testid="dashboard-runs">
      <summary>
        {runs.length} dashboard runs kept (one per corpus); the current one is over {current ? `“${current.corpus.name}”` : 'none'}
      </summary>
      <table>
        <thead>
          <tr>
            <th>corpus</th>
            <th className="num">tokens</th>
            <th className="num">dead</th>
            <th>computed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-testid="dashboard-run" data-current={r.current}>
              <td>{r.corpus.name}</td>
              <td className="num mono">{r.nTokens.toLocaleString('en')}</td>
              <td className="num mono">{r.deadFraction === null ? '—' : formatFraction(r.deadFraction)}</td>
              <td className="muted">{new Date(r.completedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC</td>
              <td>
                {r.current ? (
                  <span className="tag">current</span>
                ) : (
                  canManage && (
                    <button type="button" className="secondary small-button" disabled={change.isPending} onClick={() => change.mutate({ model, sae, runId: r.id })}>
                      Make current
                    </button>
                  )
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorLine error={change.error} small />
    </details>
  );
}
