'use client';
/**
 * "Save as evidence": attaches a finished panel job (or the feature's current dashboard) to one of the open
 * hypotheses about this feature, or to a new one written here, in one step.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { formatFeatureAddress } from '@/server/addresses';
import { useTRPC } from '../trpc';
import styles from './hypotheses.module.css';
import { ErrorLine } from './error-line';

interface Address {
  model: string;
  sae: string;
  index: number;
}

const NEW = 'new';

export function SaveEvidence({ address, jobId, what }: { address: Address; jobId?: string; what: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const hypotheses = useQuery({ ...trpc.hypothesis.forFeature.queryOptions(address), enabled: open });
  const choices = (hypotheses.data ?? []).filter((h) => h.status === 'open');
  const [choice, setChoice] = useState<string>('');
  const [statement, setStatement] = useState('');
  const [note, setNote] = useState('');
  const save = useMutation(
    trpc.hypothesis.saveEvidence.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.hypothesis.forFeature.queryFilter(address)) }),
  );
  const selected = choice || (choices[0]?.id ?? NEW);
  if (!open)
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)} data-testid="save-evidence">
        Save as evidence
      </button>
    );
  if (save.data)
    return (
      <p role="status" data-testid="evidence-saved">
        Saved {what} as evidence on <Link href={`/hypotheses/${save.data.hypothesisId}`}>the hypothesis</Link>.
      </p>
    );
  return (
    <div
      className={styles.save}
      role="group"
      aria-label={`Save ${what} as evidence`}
      data-testid="save-evidence-form"
      // a div, not a form: the panels are forms already
      onKeyDown={(e) => {
        if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') e.preventDefault();
      }}
    >
      <div className="row">
        <label>
          Hypothesis
          <select value={selected} onChange={(e) => setChoice(e.target.value)} disabled={hypotheses.isPending}>
            {choices.map((h) => (
              <option key={h.id} value={h.id}>
                {h.statement.length > 80 ? `${h.statement.slice(0, 79)}…` : h.statement}
              </option>
            ))}
            <option value={NEW}>a new hypothesis…</option>
          </select>
        </label>
        {selected === NEW && (
          <label style={{ flex: '1 1 260px' }}>
            Statement
            <input value={statement} onChange={(e) => setStatement(e.target.value)} maxLength={500} placeholder="This feature …" />
          </label>
        )}
      </div>
      <label>
        Note <span className="muted small">(what it shows; optional)</span>
        <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={10_000} />
      </label>
      <div className="row">
        <button
          type="button"
          disabled={save.isPending || (selected === NEW && statement.trim() === '')}
          data-testid="save-evidence-submit"
          onClick={() =>
            save.mutate({
              ...(selected === NEW
                ? { newHypothesis: { statement, body: '', features: [formatFeatureAddress(address)] } }
                : { hypothesisId: selected }),
              source: jobId ? { kind: 'job', jobId } : { kind: 'snapshot', feature: address },
              note,
            })
          }
        >
          Save
        </button>
        <button type="button" className="link" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <ErrorLine error={save.error} />
    </div>
  );
}
