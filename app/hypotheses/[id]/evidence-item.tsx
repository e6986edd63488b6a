'use client';
/**
 * One piece of evidence, compactly: what was computed (params), the result (tokens shaded by activation or loss
 * change; the steering curve; the dashboard's statistics and top examples), its provenance, and its re-runs with
 * whether each reproduced the saved result. "Re-run" starts the same computation; the page compares once it is done.
 */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { jobKinds, type JobParams } from '@/jobs';
import type { SteeringTermParam } from '@/jobs/kinds/steer-generate';
import type { DashboardSnapshotResult, EvidenceView, RerunView } from '@/server/evidence';
import styles from '../../_components/hypotheses.module.css';
import { JobStatus, useJob } from '../../_components/job-status';
import { JobResultView } from '../../_components/results';
import { formatValue, TokenText } from '../../_components/tokens';
import { useTRPC } from '../../trpc';
import { ErrorLine } from '../../_components/error-line';
import { utc } from '../../_lib/time';
import { formatFraction } from '../../_components/token-format';

/** Dates travel to the client as ISO strings (each kind of evidence keeps its own result type). */
type Serialized<V> = V extends unknown ? Omit<V, 'createdAt' | 'reruns'> & { createdAt: string; reruns: (Omit<RerunView, 'createdAt'> & { createdAt: string })[] } : never;
export type EvidenceProps = Serialized<EvidenceView>;

const title = (kind: EvidenceView['kind']) => (kind === 'dashboard' ? 'Dashboard snapshot' : jobKinds[kind].title);

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
  if (item.kind === 'steer-generate') {
    const g = item.params as JobParams<'steer-generate'>;
    const term = (t: SteeringTermParam) => `${'feature' in t ? `#${t.feature}` : `${t.compose} of #${t.features.join(', #')}`} × ${t.strength}`;
    parts.push(`steered with ${g.steering.map(term).join(', ')}${g.normalize ? ' (unit-normalised rows)' : ''}`, `temperature ${g.temperature}, seed ${g.seed}, ${g.maxTokens} tokens`);
  }
  return <p className="small muted">{parts.join(' · ')}</p>;
}

function Result({ item }: { item: EvidenceProps }) {
  if (item.kind === 'dashboard') return <DashboardSnapshot result={item.result} />;
  if (item.result === null) return <ErrorLine error={item.unreadable} />;
  return <JobResultView {...item} feature={item.feature?.index ?? 0} compact testId="evidence" />;
}

function DashboardSnapshot({ result: r }: { result: DashboardSnapshotResult }) {
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
        {title(item.kind)}
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
