'use client';
/**
 * The feature page's compute panels: Test your text (activations), Ablate, Steer (a coefficient scan), Steer generation,
 * and Recompute (editors). Each
 * enqueues a job through a tRPC mutation, follows the job record, and shows its status, progress and error.
 */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { FeatureJobSummary } from '@/server/feature-page';
import { doneResult, type JobType } from '@/jobs';
import { JobStatus, useJob } from '../../../_components/job-status';
import { parseNumberList } from '../../../_components/number-list';
import { AblationView } from '../../../_components/results/ablate';
import { ActivationsView } from '../../../_components/results/activations';
import { SteeringView } from '../../../_components/results/steer';
import { SteeredGenerationView } from '../../../_components/results/steer-generate';
import { SaveEvidence } from '../../../_components/save-evidence';
import { useTRPC } from '../../../trpc';
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

type Tab = 'test' | 'ablate' | 'steer' | 'generate' | 'recompute';
const TABS: { id: Tab; label: string }[] = [
  { id: 'test', label: 'Test your text' },
  { id: 'ablate', label: 'Ablate' },
  { id: 'steer', label: 'Steer' },
  { id: 'generate', label: 'Steer generation' },
  { id: 'recompute', label: 'Recompute' },
];

export function FeaturePanels(props: PanelsProps) {
  const [tab, setTabState] = useState<Tab>(props.recompute && isActive(props.recompute.status) ? 'recompute' : 'test');
  // a panel is rendered once first opened (the page carries only the open one), then stays mounted, keeping its results
  const [opened, setOpened] = useState<ReadonlySet<Tab>>(() => new Set([tab]));
  const setTab = (next: Tab) => {
    setTabState(next);
    setOpened((was) => (was.has(next) ? was : new Set([...was, next])));
  };
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
      <TabPanel id="test" active={tab} opened={opened}>
        <TestPanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="ablate" active={tab} opened={opened}>
        <AblatePanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="steer" active={tab} opened={opened}>
        <SteerPanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="generate" active={tab} opened={opened}>
        <SteerGeneratePanel {...props} text={text} setText={setText} />
      </TabPanel>
      <TabPanel id="recompute" active={tab} opened={opened}>
        <RecomputePanel {...props} />
      </TabPanel>
    </section>
  );
}

function isActive(status: string | undefined): boolean {
  return status === 'queued' || status === 'running';
}

function TabPanel({ id, active, opened, children }: { id: Tab; active: Tab; opened: ReadonlySet<Tab>; children: ReactNode }) {
  return (
    <div role="tabpanel" id={`panel-${id}`} aria-labelledby={`tab-${id}`} hidden={id !== active} className={styles.tabpanel} data-testid={`panel-${id}`}>
      {opened.has(id) && children}
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

/** The job of `kind` a panel started: its record while it runs, its result (read by the kind's schema) when done. */
function useStartedJob<T extends JobType>(kind: T) {
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useJob(jobId);
  const current = jobId ? job.data : undefined;
  const result = useMemo(() => doneResult(kind, current), [kind, current]);
  return { setJobId, job: current, result };
}

// ------------------------------------------------------------------------------------------------------------
// Test your text

function TestPanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job, result } = useStartedJob('activations');
  const run = useMutation(trpc.feature.activations.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
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
      {result && <ActivationsView result={result} feature={props.address.index} maxAct={props.maxAct} testId="test" />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this test run" />}
    </form>
  );
}

// ------------------------------------------------------------------------------------------------------------
// Ablate

function AblatePanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job, result } = useStartedJob('ablate');
  const [mode, setMode] = useState<'zero' | 'clamp'>('zero');
  const [value, setValue] = useState('0');
  const [positions, setPositions] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const run = useMutation(trpc.feature.ablate.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const parsed = parseNumberList(positions);
        if (parsed === null) return setFormError('positions must be token positions (0, 1, …) separated by commas');
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
      {result && <AblationView result={result} feature={props.address.index} testId="ablate" />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this ablation" />}
    </form>
  );
}

// ------------------------------------------------------------------------------------------------------------
// Steer

function SteerPanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job, result } = useStartedJob('steer');
  const [from, setFrom] = useState('-10');
  const [to, setTo] = useState('10');
  const [steps, setSteps] = useState('21');
  const [target, setTarget] = useState(props.defaultTarget);
  const [formError, setFormError] = useState<string | null>(null);
  const run = useMutation(trpc.feature.steer.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
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
      {result && <SteeringView result={result} feature={props.address.index} testId="steer" />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this steering scan" />}
    </form>
  );
}

// ------------------------------------------------------------------------------------------------------------
// Steer generation

/** A strength that visibly steers a unit-norm decoder row on the small models here; the user tunes it. */
const DEFAULT_STRENGTH = '10';

function SteerGeneratePanel(props: TextProps) {
  const trpc = useTRPC();
  const { setJobId, job, result } = useStartedJob('steer-generate');
  const [terms, setTerms] = useState([{ feature: String(props.address.index), strength: DEFAULT_STRENGTH }]);
  const [normalize, setNormalize] = useState(false);
  const [temperature, setTemperature] = useState('0.5');
  const [seed, setSeed] = useState('16');
  const [maxTokens, setMaxTokens] = useState('32');
  const [formError, setFormError] = useState<string | null>(null);
  const run = useMutation(trpc.feature.steerGenerate.mutationOptions({ onSuccess: ({ id }) => setJobId(id) }));
  const setTerm = (i: number, change: Partial<(typeof terms)[number]>) => setTerms(terms.map((t, k) => (k === i ? { ...t, ...change } : t)));
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const steering = terms.map((t) => ({ feature: Number(t.feature), strength: Number(t.strength) }));
        if (steering.some((t) => !Number.isInteger(t.feature) || t.feature < 0 || !Number.isFinite(t.strength)))
          return setFormError('each feature must be an index (0, 1, …) with a number as its strength');
        const [temp, s, n] = [Number(temperature), Number(seed), Number(maxTokens)];
        if (!(temp >= 0) || !Number.isInteger(s) || s < 0 || !Number.isInteger(n) || n < 1 || n > 256)
          return setFormError('the temperature must be ≥ 0, the seed a whole number ≥ 0, the tokens a whole number from 1 to 256');
        setFormError(null);
        run.mutate({ ...props.address, input: { text: props.text }, steering, normalize, temperature: temp, seed: s, maxTokens: n });
      }}
    >
      <p className="muted">
        Continues the text twice from the same seed: as the model would, and with Σ strength·W_dec[f] added at the SAE’s hook at every position
        (Neuronpedia’s convention: the raw decoder rows unless normalised). Each generated token’s log-probability and the likeliest alternatives show on
        hover or focus.
      </p>
      <PromptField text={props.text} setText={props.setText} id="generate-text" />
      <fieldset className={styles.terms}>
        <legend>Features to steer with</legend>
        {terms.map((t, i) => (
          <div className="row" key={i} data-testid="generate-term">
            <label className={styles.inline}>
              Feature
              <input type="number" min={0} value={t.feature} onChange={(e) => setTerm(i, { feature: e.target.value })} style={{ width: 80 }} />
            </label>
            <label className={styles.inline}>
              Strength
              <input type="number" step="any" value={t.strength} onChange={(e) => setTerm(i, { strength: e.target.value })} style={{ width: 80 }} />
            </label>
            {terms.length > 1 && (
              <button type="button" className="secondary" onClick={() => setTerms(terms.filter((_, k) => k !== i))} aria-label={`Remove feature ${t.feature}`}>
                Remove
              </button>
            )}
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => setTerms([...terms, { feature: '', strength: DEFAULT_STRENGTH }])} data-testid="generate-add">
          Add a feature
        </button>
      </fieldset>
      <div className="row">
        <label className={styles.inline}>
          Temperature
          <input type="number" min={0} step="any" value={temperature} onChange={(e) => setTemperature(e.target.value)} style={{ width: 64 }} />
        </label>
        <label className={styles.inline}>
          Seed
          <input type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} style={{ width: 72 }} />
        </label>
        <label className={styles.inline}>
          Tokens
          <input type="number" min={1} max={256} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} style={{ width: 64 }} />
        </label>
        <label className={styles.inline}>
          <input type="checkbox" checked={normalize} onChange={(e) => setNormalize(e.target.checked)} /> unit-normalise each decoder row
        </label>
        <button type="submit" disabled={!props.signedIn || run.isPending} data-testid="run-generate">
          Generate
        </button>
      </div>
      <ErrorLine error={formError} />
      <ErrorLine error={run.error} />
      {job && <JobStatus job={job} testId="generate-job" />}
      {result && <SteeredGenerationView result={result} feature={props.address.index} testId="generate" />}
      {result && props.canEdit && <SaveEvidence key={job!.id} address={props.address} jobId={job!.id} what="this steered generation" />}
    </form>
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
