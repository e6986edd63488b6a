'use client';
/** The hypothesis page's controls: votes, the status change (with a note), and editing the statement and features. */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { HypothesisStatus } from '@/server/hypotheses';
import { STATUS_CHOICES } from '../../_components/hypothesis-status';
import styles from '../../_components/hypotheses.module.css';
import { useTRPC } from '../../trpc';
import { HypothesisForm, type HypothesisDraft } from '../hypothesis-form';
import { ErrorLine } from '../../_components/error-line';

export function Votes({ id, score, votes, mine, canVote }: { id: string; score: number; votes: number; mine: number; canVote: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const vote = useMutation(trpc.hypothesis.vote.mutationOptions({ onSuccess: () => router.refresh() }));
  const cast = (value: 1 | -1) => vote.mutate({ id, value: mine === value ? 0 : value });
  return (
    <div className={styles.votes} data-testid="votes">
      <button type="button" className="secondary" aria-pressed={mine === 1} disabled={!canVote || vote.isPending} onClick={() => cast(1)} title="agree (again: take it back)">
        ▲ agree
      </button>
      <strong data-testid="score" aria-label={`score ${score}`}>
        {score > 0 ? '+' : ''}
        {score}
      </strong>
      <button type="button" className="secondary" aria-pressed={mine === -1} disabled={!canVote || vote.isPending} onClick={() => cast(-1)} title="disagree (again: take it back)">
        ▼ disagree
      </button>
      <span className="muted small">
        {votes} vote{votes === 1 ? '' : 's'}
      </span>
      <ErrorLine error={vote.error} inline />
    </div>
  );
}

export function StatusForm({ id, status }: { id: string; status: HypothesisStatus }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [next, setNext] = useState<HypothesisStatus>(status);
  const [note, setNote] = useState('');
  const change = useMutation(
    trpc.hypothesis.setStatus.mutationOptions({
      onSuccess: () => {
        setNote('');
        router.refresh();
      },
    }),
  );
  return (
    <form
      className="stack"
      aria-label="Change the status"
      onSubmit={(e) => {
        e.preventDefault();
        change.mutate({ id, status: next, note });
      }}
    >
      <label>
        Status
        <select value={next} onChange={(e) => setNext(e.target.value as HypothesisStatus)} data-testid="status-select">
          {STATUS_CHOICES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Note <span className="muted small">(why; optional)</span>
        <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} data-testid="status-note" />
      </label>
      <button type="submit" disabled={change.isPending || next === status} data-testid="status-submit">
        Change status
      </button>
      <ErrorLine error={change.error} />
    </form>
  );
}

export function EditHypothesis({ draft }: { draft: HypothesisDraft }) {
  const [editing, setEditing] = useState(false);
  if (!editing)
    return (
      <button type="button" className="link" onClick={() => setEditing(true)} data-testid="edit-hypothesis">
        edit
      </button>
    );
  return <HypothesisForm initial={draft} onDone={() => setEditing(false)} />;
}
