'use client';
/** Writes a new hypothesis, or edits one: statement, markdown body, and the features it is about (one address a line). */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '../trpc';
import { ErrorLine } from '../_components/error-line';

export interface HypothesisDraft {
  id?: string;
  statement: string;
  body: string;
  features: string[];
}

export function HypothesisForm({ initial, onDone }: { initial: HypothesisDraft; onDone?: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [statement, setStatement] = useState(initial.statement);
  const [body, setBody] = useState(initial.body);
  const [features, setFeatures] = useState(initial.features.join('\n'));
  const create = useMutation(trpc.hypothesis.create.mutationOptions({ onSuccess: ({ id }) => router.push(`/hypotheses/${id}`) }));
  const update = useMutation(
    trpc.hypothesis.update.mutationOptions({
      onSuccess: () => {
        onDone?.();
        router.refresh();
      },
    }),
  );
  const error = create.error ?? update.error;
  const busy = create.isPending || update.isPending;
  return (
    <form
      className="panel"
      data-testid="hypothesis-form"
      onSubmit={(e) => {
        e.preventDefault();
        const list = features
          .split(/[\n,]+/)
          .map((f) => f.trim())
          .filter(Boolean);
        if (initial.id) update.mutate({ id: initial.id, statement, body, features: list });
        else create.mutate({ statement, body, features: list });
      }}
    >
      <label>
        Statement <span className="muted small">({statement.length} / 500)</span>
        <input value={statement} onChange={(e) => setStatement(e.target.value)} maxLength={500} required placeholder="This feature detects …" />
      </label>
      <label>
        Features <span className="muted small">(model/sae/index, one a line; all of one model)</span>
        <textarea value={features} onChange={(e) => setFeatures(e.target.value)} rows={2} className="mono" required />
      </label>
      <label>
        Reasoning <span className="muted small">(markdown: how to test it, what would refute it; [[model/sae/index]] links a feature)</span>
        <textarea value={body} onChange={(e) => setBody(e.target.value)} rows={6} />
      </label>
      <div className="row">
        <button type="submit" disabled={busy} data-testid="hypothesis-submit">
          {initial.id ? 'Save' : 'Propose'}
        </button>
        {onDone && (
          <button type="button" className="secondary" onClick={onDone}>
            Cancel
          </button>
        )}
      </div>
      <ErrorLine error={error} />
    </form>
  );
}
