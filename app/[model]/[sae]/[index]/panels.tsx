'use client';
/**
 * The feature page's compute panels: Test your text (activations), Ablate, Steer, and Recompute (editors). Each
 * enqueues a job through a tRPC mutation, follows the job record, and shows its status, progress and error.
 */
import { useMutation } from '@tanstack/react-query';
import type { Data, Layout } from 'plotly.js';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { FeatureJobSummary } from '@/server/feature-page';
import type { Ablation } from '@/compute/analyses/ablate';
import type { FeatureActivations } from '@/compute/analyses/activations';
import type { FeatureAttribution } from '@/compute/analyses/dfa';
import type { Steering } from '@/compute/analyses/steer';
import { JobStatus, useJob } from '../../../_components/job-status';
import { Plot, plotlyText } from '../../../_components/plot';
import { SaveEvidence } from '../../../_components/save-evidence';
import { formatFraction } from '../../../_components/token-format';
import { displayPiece, formatValue, TokenText } from '../../../_components/tokens';
import { useTRPC } from '../../../trpc';
import { DirectFeatureAttribution } from './dfa';
import styles from './feature.module.css';
import { ErrorLine } from '../../../_components/error-line';

interface Address {
  model: string;
  sae: string;
  index: number;
}

export interface PanelsProps {
  address: Address;
  signedIn: boolean;
  canEdit: boolean;
  hasDashboards: boolean;
  defaultText: string;
  defaultTarget: string;
  recompute: FeatureJobSummary | null;
  maxAct: number;
}

type Tab = 'test' | 'ablate' | 'steer' | 'recompute';
const TABS: { id: Tab; label: string }[] = [
  { id: 'test', label: 'Test your text' },
  { id: 'ablate', label: 'Ablate' },
  { id: 'steer', label: 'Steer' },
  { id: 'recompute', label: 'Recompute' },
];

export function FeaturePanels(props: PanelsProps) {
  const [tab, setTab] = useState<Tab>(props.recompute && isActive(props.recompute.status) ? 'recompute' : 'test');
  const [text, setText] = useState(props.defaultText);
  const tabs = useRef<Record<string, HTMLButtonElement | null>>({});

  const onKey = (e: React.KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === tab);
    const next = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : -1;
    if (next >= 0) {
      e.preventDefault();
      setTab(TABS[next]!.id);
      tabs.current[TABS[next]!.id]?.focus();
    }
  };

  return (
    <section className={styles.panels} aria-label="Compute panels" data-testid="panels">
      <div role="tablist" aria-label="Compute" className={styles.tablist} onKeyDown={onKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              tabs.current[t.id] = el;
            }}
            role="tab"
            type="button"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className={tab === t.id ? styles.tabActive : styles.tab}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {!props.signedIn && (
        <p className="muted">
          <Link href="/signin">Sign in</Link> to run the model on your own text.
        </p>
      )}
      <TabPanel id="test" active={tab}>
        <TestPanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="ablate" active={tab}>
        <AblatePanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="steer" active={tab}>
        <SteerPanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="recompute" active={tab}>
        <RecomputePanel {...props} />
      </TabPanel>
    </section>
  );
}

function isActive(status: string | undefined): boolean {
  return status === 'queued' || status === 'running';
}

function TabPanel({ id, active, children }: { id: Tab; active: Tab; children: ReactNode }) {
  // Panels stay mounted when hidden, so switching tabs keeps their results.
  return (
    <div role="tabpanel" id={`panel-${id}`} aria-labelledby={`tab-${id}`} hidden={id !== active} className={styles.tabpanel} data-testid={`panel-${id}`}>
      {children}
    </div>
  );
}

type TextProps = PanelsProps & { text: string; setText: (t: string) => void };

function PromptField({ text, setText, id }: { text: string; setText: (t: string) => void; id: string }) {
  return (
    <label className={styles.prompt}>
      Text
      <textarea id={id} value={text} onChange={(e) => setText(e.target.value)} rows={2} spellCheck={false} />
    </label>
  );
}

/** The job a panel started: its record while it runs, its result when done. */
function useStartedJob() {
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useJob(jobId);
  return { jobId, setJobId, job: jobId ? job.data : undefined };
}

// ------------------------------------------------------------------------------------------------------------
// Test your text

/** a hook_z SAE's test run also says where the feature reads from (see worker/jobs/activations.ts) */
type TestResult = FeatureActivations & { dfa?: FeatureAttribution };

function TestPanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job } = useStartedJob();
  const run = useMutation(trpc.feature.activations.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
  const result = job?.status === 'done' ? (job.result as TestResult) : null;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        run.mutate({ ...props.address, input: { text: props.text } });
      }}
    >
      <p className="muted">This feature’s activation at every token of your text (the model runs to the SAE’s hook, the SAE encodes).</p>
      <PromptField text={props.text} setText={props.setText} id="test-text" />
      <div className="row">
        <button type="submit" disabled={!props.signedIn || run.isPending} data-testid="run-test">
          Run
        </button>
      </div>
      <ErrorLine error={run.error} />
      {job && <JobStatus job={job} testId="test-job" />}
      {result && <ActivationsResult result={result} feature={props.address.index} maxAct={props.maxAct} />}
      {result?.dfa && <DirectFeatureAttribution dfa={result.dfa} />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this test run" />}
    </form>
  );
}

function ActivationsResult({ result, feature, maxAct }: { result: FeatureActivations; feature: number; maxAct: number }) {
  const acts = result.features[String(feature)] ?? [];
  const peak = acts.reduce((best, v, t) => (v > acts[best]! ? t : best), 0);
  const max = acts[peak] ?? 0;
  const firing = acts.filter((v) => v > 0).length;
  return (
    <div className={styles.result} data-testid="test-result">
      <p className="muted">
        {firing === 0 ? (
          <>It does not fire on this text ({acts.length} tokens).</>
        ) : (
          <>
            Fires on {firing} of {acts.length} tokens; peak <strong className="mono">{formatValue(max)}</strong> at{' '}
            <code className="tok">{displayPiece(result.pieces[peak] ?? '')}</code> (position {peak})
            {maxAct > 0 && <> — {formatFraction(max / maxAct)} of its dashboard maximum</>}.
          </>
        )}
      </p>
      <div className={styles.resultText}>
        <TokenText
          tokens={result.pieces}
          values={acts}
          scale={Math.max(maxAct, max)}
          focus={firing > 0 ? peak : undefined}
          label="your text, shaded by the feature's activation"
          testId="test-tokens"
          details={(t) => {
            const others = result.top[t]?.filter((a) => a.feature !== feature).slice(0, 3) ?? [];
            return others.length ? `most active: ${others.map((a) => `#${a.feature} ${formatValue(a.act)}`).join(', ')}` : null;
          }}
        />
      </div>
    </div>
  );
}

// ------------------------------------------------------------------------------------------------------------
// Ablate

type AblationResult = Ablation & { pieces: string[] };

function parsePositions(raw: string): number[] | undefined | 'bad' {
  if (raw.trim() === '') return undefined;
  const parts = raw.split(/[,\s]+/).filter(Boolean);
  if (!parts.every((p) => /^\d+$/.test(p))) return 'bad';
  return parts.map(Number);
}

function AblatePanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job } = useStartedJob();
  const [mode, setMode] = useState<'zero' | 'clamp'>('zero');
  const [value, setValue] = useState('0');
  const [positions, setPositions] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const run = useMutation(trpc.feature.ablate.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
  const result = job?.status === 'done' ? (job.result as AblationResult) : null;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const parsed = parsePositions(positions);
        if (parsed === 'bad') return setFormError('positions must be token positions (0, 1, …) separated by commas');
        const clampTo = Number(value);
        if (mode === 'clamp' && (value.trim() === '' || !Number.isFinite(clampTo))) return setFormError('the clamp value must be a number');
        setFormError(null);
        run.mutate({ ...props.address, input: { text: props.text }, positions: parsed, mode, value: mode === 'clamp' ? clampTo : undefined });
      }}
    >
      <p className="muted">
        Removes the feature’s contribution at its hook (x ← x − a·W_dec[f], the SAE error kept) or clamps its activation, then compares the next-token
        loss with the clean run.
      </p>
      <PromptField text={props.text} setText={props.setText} id="ablate-text" />
      <div className="row">
        <label className={styles.inline}>
          Mode
          <select value={mode} onChange={(e) => setMode(e.target.value as 'zero' | 'clamp')}>
            <option value="zero">zero-ablate</option>
            <option value="clamp">clamp to</option>
          </select>
        </label>
        {mode === 'clamp' && (
          <label className={styles.inline}>
            Value
            <input type="number" step="any" value={value} onChange={(e) => setValue(e.target.value)} style={{ width: 90 }} />
          </label>
        )}
        <label className={styles.inline}>
          Positions
          <input value={positions} onChange={(e) => setPositions(e.target.value)} placeholder="all" style={{ width: 110 }} />
        </label>
        <button type="submit" disabled={!props.signedIn || run.isPending} data-testid="run-ablate">
          Ablate
        </button>
      </div>
      <ErrorLine error={formError} />
      <ErrorLine error={run.error} />
      {job && <JobStatus job={job} testId="ablate-job" />}
      {result && <AblationView result={result} />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this ablation" />}
    </form>
  );
}

function AblationView({ result }: { result: AblationResult }) {
  const n = result.tokens.length;
  // deltas[t]: the loss change of predicting token t (at position t − 1); nothing predicts the first token
  const deltas: (number | null)[] = Array.from({ length: n }, (_, t) =>
    t === 0 ? null : result.lossAblated[t - 1]! - result.lossClean[t - 1]!,
  );
  const scale = Math.max(1e-6, ...deltas.map((d) => Math.abs(d ?? 0)));
  const total = deltas.reduce<number>((s, d) => s + (d ?? 0), 0);
  return (
    <div className={styles.result} data-testid="ablate-result">
      <p className="muted">
        Mean loss change {n > 1 ? formatValue(total / (n - 1)) : '—'} over {n - 1} predictions. Blue: the loss rose without the feature (it helped
        predict that token); red: it fell.
      </p>
      <div className={styles.resultText}>
        <TokenText
          tokens={result.pieces}
          values={deltas}
          scale={scale}
          shading="diverging"
          valueName="Δloss"
          label="your text, shaded by the loss change of predicting each token"
          testId="ablate-tokens"
          details={(t) => `act ${formatValue(result.acts[t] ?? 0)}`}
        />
      </div>
      <div className={styles.twoCol}>
        <table className={styles.compact} data-testid="ablate-table">
          <thead>
            <tr>
              <th>pos</th>
              <th>token</th>
              <th className="num">act</th>
              <th className="num">loss</th>
              <th className="num">ablated</th>
              <th className="num">Δ</th>
              <th className="num">KL</th>
            </tr>
          </thead>
          <tbody>
            {result.tokens.map((_, t) => (
              <tr key={t}>
                <td className="muted">{t}</td>
                <td className="mono">{displayPiece(result.pieces[t] ?? '')}</td>
                <td className="num mono">{formatValue(result.acts[t] ?? 0)}</td>
                <td className="num mono">{t > 0 ? formatValue(result.lossClean[t - 1]!) : ''}</td>
                <td className="num mono">{t > 0 ? formatValue(result.lossAblated[t - 1]!) : ''}</td>
                <td className="num mono">{deltas[t] === null ? '' : `${deltas[t]! >= 0 ? '+' : ''}${formatValue(deltas[t]!)}`}</td>
                <td className="num mono">{formatValue(result.kl[t] ?? 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table className={styles.compact} data-testid="ablate-logits">
          <caption>Most decreased logits at the last position</caption>
          <tbody>
            {result.logitDeltas.map((d) => (
              <tr key={d.id}>
                <td className="mono">{displayPiece(d.piece)}</td>
                <td className="num mono">{formatValue(d.delta)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

// ------------------------------------------------------------------------------------------------------------
// Steer

type SteeringResult = Steering & { pieces: string[] };

function SteerPanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job } = useStartedJob();
  const [from, setFrom] = useState('-10');
  const [to, setTo] = useState('10');
  const [steps, setSteps] = useState('21');
  const [target, setTarget] = useState(props.defaultTarget);
  const [formError, setFormError] = useState<string | null>(null);
  const run = useMutation(trpc.feature.steer.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
  const result = job?.status === 'done' ? (job.result as SteeringResult) : null;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const [a, b, s] = [Number(from), Number(to), Number(steps)];
        if (![a, b].every(Number.isFinite) || !Number.isInteger(s) || s < 1 || s > 201)
          return setFormError('from and to must be numbers, steps a whole number from 1 to 201');
        setFormError(null);
        run.mutate({ ...props.address, input: { text: props.text }, coefficients: { from: a, to: b, steps: s }, targetToken: target || undefined });
      }}
    >
      <p className="muted">Adds c·W_dec[f] at every position for each coefficient c of the scan and reads the loss and a token’s logit at the last position.</p>
      <PromptField text={props.text} setText={props.setText} id="steer-text" />
      <div className="row">
        <label className={styles.inline}>
          From
          <input type="number" step="any" value={from} onChange={(e) => setFrom(e.target.value)} style={{ width: 70 }} />
        </label>
        <label className={styles.inline}>
          To
          <input type="number" step="any" value={to} onChange={(e) => setTo(e.target.value)} style={{ width: 70 }} />
        </label>
        <label className={styles.inline}>
          Steps
          <input type="number" min={1} max={201} value={steps} onChange={(e) => setSteps(e.target.value)} style={{ width: 64 }} />
        </label>
        <label className={styles.inline}>
          Target token
          <input value={target} onChange={(e) => setTarget(e.target.value)} placeholder="piece or id" style={{ width: 110 }} />
        </label>
        <button type="submit" disabled={!props.signedIn || run.isPending} data-testid="run-steer">
          Steer
        </button>
      </div>
      <ErrorLine error={formError} />
      <ErrorLine error={run.error} />
      {job && <JobStatus job={job} testId="steer-job" />}
      {result && <SteeringView result={result} />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this steering scan" />}
    </form>
  );
}

function SteeringView({ result }: { result: SteeringResult }) {
  const { data, layout } = useMemo(() => {
    const x = result.results.map((r) => r.coefficient);
    const data: Data[] = [
      {
        type: 'scatter',
        mode: 'lines+markers',
        x,
        y: result.results.map((r) => r.loss),
        name: 'mean loss',
        line: { color: '#1f5fbf', width: 2 },
        marker: { symbol: 'circle', size: 5 },
        hovertemplate: 'c = %{x}: loss %{y:.3f}<extra></extra>',
      },
    ];
    if (result.target) {
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        x,
        y: result.results.map((r) => r.targetLogit),
        name: `logit of “${plotlyText(displayPiece(result.target.piece))}” (right)`,
        yaxis: 'y2',
        line: { color: '#e07000', width: 2, dash: 'dash' },
        marker: { symbol: 'square', size: 5 },
        hovertemplate: 'c = %{x}: logit %{y:.3f}<extra></extra>',
      });
    }
    const layout: Partial<Layout> = {
      margin: { l: 52, r: 56, t: 12, b: 64 },
      // c = 0 (no steering) is marked by a tick, not a line across the plot; the right axis keeps its own round ticks
      xaxis: { title: { text: 'steering coefficient c' }, zeroline: false },
      yaxis: { title: { text: 'mean next-token loss' }, zeroline: false, nticks: 6 },
      yaxis2: { title: { text: 'target logit' }, overlaying: 'y', side: 'right', showgrid: false, zeroline: false, tickmode: 'auto', nticks: 6 },
      legend: { orientation: 'h', y: -0.3 },
    };
    return { data, layout };
  }, [result]);
  return (
    <div className={styles.result} data-testid="steer-result">
      <Plot
        testId="steer-plot"
        data={data}
        layout={layout}
        height={280}
        description={`Mean loss${result.target ? ` and the logit of “${displayPiece(result.target.piece)}”` : ''} against the steering coefficient, ${result.coefficients.length} coefficients from ${result.coefficients[0]} to ${result.coefficients.at(-1)}.`}
      />
      <table className={styles.compact} data-testid="steer-table">
        <thead>
          <tr>
            <th className="num">c</th>
            <th className="num">loss</th>
            {result.target && <th className="num">logit <code className="tok">{displayPiece(result.target.piece)}</code></th>}
            <th>most likely next tokens</th>
          </tr>
        </thead>
        <tbody>
          {result.results.map((r) => (
            <tr key={r.coefficient}>
              <td className="num mono">{r.coefficient}</td>
              <td className="num mono">{r.loss === null ? '—' : formatValue(r.loss)}</td>
              {result.target && <td className="num mono">{r.targetLogit === null ? '—' : formatValue(r.targetLogit)}</td>}
              <td className="mono">
                {r.top.map((p) => (
                  <span key={p.id} className={styles.nextTok}>
                    <code className="tok">{displayPiece(p.piece)}</code> {formatFraction(p.prob)}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// ------------------------------------------------------------------------------------------------------------
// Recompute

function RecomputePanel(props: PanelsProps) {
  const trpc = useTRPC();
  const router = useRouter();
  const [jobId, setJobId] = useState<string | null>(props.recompute?.id ?? null);
  const job = useJob(jobId);
  const current = job.data ?? (props.recompute && props.recompute.id === jobId ? props.recompute : undefined);
  const run = useMutation(trpc.feature.recompute.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));

  // When the job finishes, re-read the page: the server renders the new data.
  const seen = useRef(props.recompute?.status);
  const status = job.data?.status;
  const [updated, setUpdated] = useState(false);
  useEffect(() => {
    if (status && seen.current !== status && isActive(seen.current) && status === 'done') {
      setUpdated(true);
      router.refresh();
    }
    if (status) seen.current = status;
  }, [status, router]);

  // the conventions Neuronpedia shows by default; unticking gives the alternative
  const [foldLn, setFoldLn] = useState(true);
  const [excludeBos, setExcludeBos] = useState(true);

  const busy = run.isPending || isActive(current?.status);
  const what = (job.data?.type ?? props.recompute?.type) === 'logit-weights' ? 'logit weights' : 'dashboard';
  return (
    <div>
      <p className="muted">
        Editors: compute this feature again over the dashboards’ corpus (top and interval examples with the ablation loss change, histograms, logit
        weights), or only its logit weights and encoder/decoder statistics. The page updates when the job finishes.
      </p>
      {!props.canEdit && <p className="muted">Recomputing needs the editor role.</p>}
      <div className="row">
        <label>
          <input type="checkbox" checked={foldLn} onChange={(e) => setFoldLn(e.target.checked)} data-testid="recompute-fold-ln" /> fold the final
          norm into W_U (TransformerLens fold_ln; unticked: raw W_dec·W_U)
        </label>
        <label>
          <input type="checkbox" checked={excludeBos} onChange={(e) => setExcludeBos(e.target.checked)} data-testid="recompute-exclude-bos" /> leave
          BOS out of the examples and the max (dashboard)
        </label>
      </div>
      <div className="row">
        <button
          type="button"
          disabled={!props.canEdit || busy || !props.hasDashboards}
          onClick={() => {
            setUpdated(false);
            seen.current = 'queued';
            run.mutate({ ...props.address, what: 'dashboard', foldLn, excludeBos });
          }}
          data-testid="recompute-dashboard"
        >
          Recompute dashboard
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!props.canEdit || busy || !props.hasDashboards}
          onClick={() => {
            setUpdated(false);
            seen.current = 'queued';
            run.mutate({ ...props.address, what: 'logit-weights', foldLn });
          }}
          data-testid="recompute-logits"
        >
          Recompute logit weights
        </button>
      </div>
      <ErrorLine error={run.error} />
      {current && (
        <div className={styles.result}>
          <p className="muted">Recomputing the {what}:</p>
          <JobStatus job={current} showProgress testId="recompute-job" />
          {updated && current.status === 'done' && (
            <p role="status" data-testid="recompute-updated">
              Done — the page shows the new data.
            </p>
          )}
        </div>
      )}
    </div>
  );
}
