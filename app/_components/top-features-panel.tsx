'use client';
/**
 * Search by inference ("Which features fire on my text?"): on one SAE (the SAE page) or on every SAE of a model the
 * viewer may compute on (the model page, /search). One job per SAE, each with its status, then the features found; a
 * finished search with the same options is reused and marked "cached".
 */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { doneResult } from '@/jobs';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { JobStatus, useJob } from './job-status';
import { parseNumberList } from './number-list';
import { TopFeaturesView } from './results/top-features';

type Rank = 'max' | 'sum';

interface Search {
  sae: string;
  id: string;
  cached: boolean;
}

/** One SAE's search: its job's status (with Cancel while it runs), then the features. */
function SaeSearch({ model, search, rank, testId }: { model: string; search: Search; rank: Rank; testId: string }) {
  const trpc = useTRPC();
  const job = useJob(search.id);
  const current = job.data;
  const result = useMemo(() => doneResult('top-features', current), [current]);
  const cancel = useMutation(trpc.job.cancel.mutationOptions({ onSuccess: () => void job.refetch() }));
  if (!current) return null;
  const running = current.status === 'queued' || current.status === 'running';
  return (
    <div data-testid={`${testId}-search`}>
      <div className="row">
        <JobStatus job={current} testId={`${testId}-job`} />
        {search.cached && (
          <span className="muted" data-testid={`${testId}-cached`} title="the same search on the same SAE finished before: its result is shown">
            cached
          </span>
        )}
        {running && (
          <button type="button" className="link" onClick={() => cancel.mutate({ id: search.id })} disabled={cancel.isPending}>
            Cancel
          </button>
        )}
      </div>
      <ErrorLine error={cancel.error} />
      {result && <TopFeaturesView result={result} address={{ model, sae: search.sae }} rank={rank} testId={testId} />}
    </div>
  );
}

export function TopFeaturesPanel(props: { model: string; /** absent: all the model's SAEs */ sae?: string; initialText?: string; canCompute: boolean }) {
  const { model, sae, canCompute } = props;
  const trpc = useTRPC();
  const [text, setText] = useState(props.initialText ?? '');
  const [rank, setRank] = useState<Rank>('max');
  const [ignoreBos, setIgnoreBos] = useState(true);
  const [positionsText, setPositionsText] = useState('');
  const positions = parseNumberList(positionsText);
  const [found, setFound] = useState<{ searches: Search[]; rank: Rank; capped: number } | null>(null);
  const one = useMutation(trpc.sae.topFeatures.mutationOptions({ onSuccess: (s, v) => setFound({ searches: [{ ...s, sae: v.sae }], rank: v.rank ?? 'max', capped: 0 }) }));
  const all = useMutation(
    trpc.model.topFeatures.mutationOptions({ onSuccess: (r, v) => setFound({ searches: r.saes, rank: v.rank ?? 'max', capped: r.capped }) }),
  );
  const pending = one.isPending || all.isPending;
  return (
    <section className="panel" aria-labelledby="top-features-h" data-testid="top-features">
      <h2 id="top-features-h">{sae ? 'Which features fire on my text?' : 'Which features fire on my text, in each SAE?'}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (positions === null) return;
          const options = { input: { text }, rank, ignoreBos, positions };
          if (sae) one.mutate({ model, sae, ...options });
          else all.mutate({ model, ...options });
        }}
      >
        <label>
          Text
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={2} spellCheck={false} data-testid="top-features-text" />
        </label>
        <div className="row">
          <label>
            Rank by{' '}
            <select value={rank} onChange={(e) => setRank(e.target.value as Rank)} data-testid="top-features-rank">
              <option value="max">max activation</option>
              <option value="sum">sum over the tokens</option>
            </select>
          </label>
          <label>
            over token positions{' '}
            <input
              value={positionsText}
              onChange={(e) => setPositionsText(e.target.value)}
              placeholder="all"
              size={10}
              aria-invalid={positions === null}
              title="e.g. 3, 5, 8 (0 is the first token, BOS); empty: all of them"
              data-testid="top-features-positions"
            />
          </label>
          <label>
            <input type="checkbox" checked={ignoreBos} onChange={(e) => setIgnoreBos(e.target.checked)} /> ignore BOS
          </label>
          <button type="submit" disabled={!canCompute || pending || text.trim() === '' || positions === null} data-testid="run-top-features">
            Find features
          </button>
          {!canCompute && (
            <span className="muted">
              <Link href="/signin">Sign in</Link> to run the model on your own text.
            </span>
          )}
        </div>
      </form>
      <ErrorLine error={positions === null ? 'token positions are whole numbers from 0, separated by commas or spaces' : (one.error ?? all.error)} />
      {found && !sae && found.searches.length === 0 && <p className="muted">You may not run any of this model&apos;s SAEs.</p>}
      {found && found.capped > 0 && (
        <p className="muted" data-testid="top-features-capped">
          Searched the first {found.searches.length} SAEs; {found.capped} more were left out.
        </p>
      )}
      {found?.searches.map((s) =>
        sae ? (
          <SaeSearch key={s.id} model={model} search={s} rank={found.rank} testId="top-features" />
        ) : (
          <div key={s.id}>
            <h3>
              <Link href={`/${model}/${s.sae}`}>{s.sae}</Link>
            </h3>
            <SaeSearch model={model} search={s} rank={found.rank} testId={`top-features-${s.sae}`} />
          </div>
        ),
      )}
    </section>
  );
}
