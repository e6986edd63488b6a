'use client';
/**
 * One piece of evidence, compactly: what was computed (params), the result (tokens shaded by activation or loss
 * change; the steering curve; the dashboard's statistics and top examples), its provenance, and its re-runs with
 * whether each reproduced the saved result. "Re-run" starts the same computation; the page compares once it is done.
 */
import { useMutation } from '@tanstack/react-query';
import type { Data, Layout } from 'plotly.js';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import type { DashboardSnapshotResult, EvidenceView, RerunView } from '@/server/evidence';
import type { Ablation } from '@/compute/analyses/ablate';
import type { FeatureActivations } from '@/compute/analyses/activations';
import type { Steering } from '@/compute/analyses/steer';
import styles from '../../_components/hypotheses.module.css';
import { JobStatus, useJob } from '../../_components/job-status';
import { Plot, plotlyText } from '../../_components/plot';
import { formatValue, TokenText } from '../../_components/tokens';
import { useTRPC } from '../../trpc';
import { ErrorLine } from '../../_components/error-line';
import { utc } from '../../_lib/time';
import { formatFraction } from '../../_components/token-format';

/** Dates travel to the client as ISO strings. */
export type EvidenceProps = Omit<EvidenceView, 'createdAt' | 'reruns'> & { createdAt: string; reruns: (Omit<RerunView, 'createdAt'> & { createdAt: string })[] };

const KIND_TITLES: Record<EvidenceView['kind'], string> = {
  activations: 'Test your text',
  ablate: 'Ablation',
  steer: 'Steering scan',
  dashboard: 'Dashboard snapshot',
};

const short = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{16,}$/.test(v) ? v.slice(0, 12) : String(v ?? '—'));

function Provenance({ provenance, changed = [] }: { provenance: Record<string, unknown>; changed?: string[] }) {
  const keys = ['model', 'sae', 'run', 'corpus', 'backend', 'codeVersion'].filter((k) => k in provenance);
  return (
    <dl className={styles.provenance} data-testid="provenance">
      {keys.map((k) => (
        <span key={k} className={changed.includes(k) ? styles.changed : undefined}>
          <dt>{k}</dt>
          <dd className="mono" title={String(provenance[k] ?? '')}>
            {short(provenance[k])}
          </dd>
        </span>
      ))}
    </dl>
  );
}

function ParamsLine({ item }: { item: EvidenceProps }) {
  const p = item.params as { input?: { text?: string; tokenIds?: number[] }; coefficients?: { from: number; to: number; steps: number }; mode?: string; value?: number; positions?: number[] };
  const parts: string[] = [];
  if (p.input?.text !== undefined) parts.push(`text “${p.input.text.length > 120 ? `${p.input.text.slice(0, 119)}…` : p.input.text}”`);
  if (p.input?.tokenIds) parts.push(`${p.input.tokenIds.length} token ids`);
  if (item.kind === 'ablate') parts.push(p.mode === 'clamp' ? `clamped to ${p.value}` : 'zero-ablated', p.positions ? `at ${p.positions.join(', ')}` : 'everywhere');
  if (p.coefficients) parts.push(`c from ${p.coefficients.from} to ${p.coefficients.to} in ${p.coefficients.steps} steps`);
  return <p className="small muted">{parts.join(' · ')}</p>;
}

function Result({ item }: { item: EvidenceProps }) {
  const f = item.feature?.index ?? 0;
  switch (item.kind) {
    case 'activations': {
      const r = item.result as FeatureActivations;
      const acts = r.features[String(f)] ?? [];
      const max = Math.max(0, ...acts);
      const peak = acts.indexOf(max);
      return (
        <>
          <p className="small">
            {max > 0 ? (
              <>
                fires on {acts.filter((a) => a > 0).length} of {acts.length} tokens, peak <strong className="mono">{formatValue(max)}</strong> at position {peak}
              </>
            ) : (
              <>does not fire on these {acts.length} tokens</>
            )}
          </p>
          <div className={styles.tokens}>
            <TokenText tokens={r.pieces} values={acts} scale={max || 1} focus={max > 0 ? peak : undefined} label="the text, shaded by the feature's activation" testId="evidence-tokens" />
          </div>
        </>
      );
    }
    case 'ablate': {
      const r = item.result as Ablation & { pieces: string[] };
      const deltas = r.tokens.map((_, t) => (t === 0 ? null : r.lossAblated[t - 1]! - r.lossClean[t - 1]!));
      const scale = Math.max(1e-6, ...deltas.map((d) => Math.abs(d ?? 0)));
      const mean = deltas.reduce<number>((s, d) => s + (d ?? 0), 0) / Math.max(1, deltas.length - 1);
      return (
        <>
          <p className="small">
            mean loss change <strong className="mono">{formatValue(mean)}</strong> over {deltas.length - 1} predictions (blue: the loss rose without the feature)
          </p>
          <div className={styles.tokens}>
            <TokenText tokens={r.pieces} values={deltas} scale={scale} shading="diverging" valueName="Δloss" label="the text, shaded by the loss change" testId="evidence-tokens" />
          </div>
        </>
      );
    }
    case 'steer':
      return <SteerChart result={item.result as Steering & { pieces: string[] }} />;
    case 'dashboard': {
      const r = item.result as DashboardSnapshotResult;
      return (
        <>
          <p className="small">
            {r.label ? <>label “{r.label}” · </> : null}density <span className="mono">{formatFraction(r.stats.density!)}</span> over {r.stats.nTokens!.toLocaleString('en')} tokens · max{' '}
            <span className="mono">{formatValue(r.stats.maxAct!)}</span> · mean <span className="mono">{formatValue(r.stats.meanAct!)}</span>
          </p>
          {r.top.slice(0, 3).map((e) => (
            <div key={e.contextIndex} className={styles.tokens}>
              <TokenText tokens={e.tokens} pieces={r.pieces} values={e.acts} scale={r.stats.maxAct || 1} focus={e.maxPos} radius={12} label="a top example" testId="evidence-tokens" />
            </div>
          ))}
        </>
      );
    }
  }
}

function SteerChart({ result }: { result: Steering & { pieces: string[] } }) {
  const { data, layout } = useMemo(() => {
    const x = result.results.map((r) => r.coefficient);
    const data: Data[] = [{ type: 'scatter', mode: 'lines+markers', x, y: result.results.map((r) => r.loss), name: 'mean loss', line: { color: '#1f5fbf' } }];
    if (result.target)
      data.push({ type: 'scatter', mode: 'lines+markers', x, y: result.results.map((r) => r.targetLogit), name: `logit of ${plotlyText(JSON.stringify(result.target.piece))}`, yaxis: 'y2', line: { color: '#e07000', dash: 'dash' } });
    const layout: Partial<Layout> = {
      margin: { l: 48, r: 48, t: 24, b: 40 },
      xaxis: { title: { text: 'c' } },
      yaxis: { title: { text: 'loss' } },
      yaxis2: { overlaying: 'y', side: 'right', showgrid: false, title: { text: 'logit' } },
    };
    return { data, layout };
  }, [result]);
  return <Plot data={data} layout={layout} height={200} testId="evidence-plot" description={`Mean loss against the steering coefficient over ${result.coefficients.length} coefficients.`} />;
}

function RerunLine({ rerun }: { rerun: EvidenceProps['reruns'][number] }) {
  const c = rerun.comparison;
  const when = `${utc(new Date(rerun.createdAt))}${rerun.requestedByName ? ` by ${rerun.requestedByName}` : ''}`;
  if (rerun.agrees === null)
    return (
      <li data-testid="rerun">
        re-run {when}: {rerun.jobStatus ?? 'pending'}…
      </li>
    );
  return (
    <li data-testid="rerun">
      {rerun.agrees ? (
        <span className={styles.agrees} data-testid="rerun-verdict">
          reproduced ✓
        </span>
      ) : (
        <span className={styles.differs} data-testid="rerun-verdict">
          differs ✗
        </span>
      )}{' '}
      {c && (
        <span className="small">
          (max diff <span className="mono">{c.maxAbsDiff === 0 ? '0' : c.maxAbsDiff.toExponential(2)}</span>
          {c.worst && !rerun.agrees ? <> at {c.worst}</> : null}; {c.compared} values)
          {c.mismatch && <> — {c.mismatch}</>}
        </span>
      )}{' '}
      <span className="muted small">{when}</span>
      {c && (
        <>
          {c.provenanceChanges.length > 0 && (
            <div className={`small ${styles.changed}`}>
              changed since saved: {c.provenanceChanges.map((p) => `${p.key} ${short(p.saved)} → ${short(p.rerun)}`).join(', ')}
            </div>
          )}
          <Provenance provenance={c.rerunProvenance} changed={c.provenanceChanges.map((p) => p.key)} />
        </>
      )}
    </li>
  );
}

export function EvidenceItem({ item, hypothesisId, canRerun }: { item: EvidenceProps; hypothesisId: string; canRerun: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useJob(jobId);
  const rerun = useMutation(
    trpc.hypothesis.rerun.mutationOptions({
      onSuccess: ({ jobId }) => (jobId ? setJobId(jobId) : router.refresh()),
    }),
  );
  const status = job.data?.status;
  // the job finished: read the page again, which compares the result
  useEffect(() => {
    if (status === 'done' || status === 'failed' || status === 'cancelled') {
      setJobId(null);
      router.refresh();
    }
  }, [status, router]);
  const address = item.feature ? `${item.feature.model}/${item.feature.sae}/${item.feature.index}` : null;
  return (
    <article className={styles.evidence} data-testid="evidence" id={`evidence-${item.id}`}>
      <h3>
        {KIND_TITLES[item.kind]}
        {address && (
          <Link href={`/${address}`} className="mono small">
            {address}
          </Link>
        )}
        <span className="muted small">
          saved {item.createdAt.slice(0, 16).replace('T', ' ')} UTC{item.addedByName ? ` by ${item.addedByName}` : ''}
        </span>
      </h3>
      {item.note && <p>{item.note}</p>}
      <ParamsLine item={item} />
      <Result item={item} />
      <Provenance provenance={item.provenance} />
      <div className="row" style={{ marginTop: 4 }}>
        <button type="button" className="secondary" disabled={!canRerun || rerun.isPending || jobId !== null} onClick={() => rerun.mutate({ evidenceId: item.id })} data-testid="rerun-button">
          Re-run
        </button>
        {job.data && jobId && <JobStatus job={job.data} testId="rerun-job" />}
        <ErrorLine error={rerun.error} inline />
      </div>
      {item.reruns.length > 0 && (
        <ul className={styles.reruns} data-testid="reruns" aria-label={`re-runs of this evidence (hypothesis ${hypothesisId})`}>
          {item.reruns.map((r) => (
            <RerunLine key={r.id} rerun={r} />
          ))}
        </ul>
      )}
    </article>
  );
}
