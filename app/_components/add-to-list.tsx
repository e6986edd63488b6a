'use client';
/**
 * "Add to a list" for features of one SAE: one of the account's lists, or a new one named here. The features are
 * given (a feature page, the scatter's selection), or are the ticked `index` checkboxes that belong to this form
 * (the feature table's rows, by their `form` attribute). Needs JavaScript: it calls the list router.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';

const NEW = 'new';

export function AddToList(props: {
  model: string;
  sae: string;
  /** the features to add; without it, the ticked checkboxes of this form */
  indices?: number[];
  /** this form's id (the checkboxes name it in their `form` attribute) */
  formId?: string;
  /** the button's text */
  action: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const mine = useQuery(trpc.list.mine.queryOptions());
  const [chosen, setChosen] = useState('');
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation(trpc.list.create.mutationOptions());
  const add = useMutation(trpc.list.addEntries.mutationOptions());
  const [done, setDone] = useState<{ id: string; name: string; added: number; asked: number } | null>(null);
  // with no lists yet, the only choice is a new one
  const listId = chosen || (mine.data?.[0]?.id ?? NEW);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setProblem(null);
    setDone(null);
    const indices = props.indices ?? new FormData(e.currentTarget).getAll('index').map(Number);
    if (indices.length === 0) return setProblem('Tick the features to add first.');
    try {
      const list = listId === NEW ? { ...(await create.mutateAsync({ name })), name } : { id: listId, name: mine.data?.find((l) => l.id === listId)?.name ?? 'the list' };
      const { added } = await add.mutateAsync({ id: list.id, model: props.model, sae: props.sae, indices });
      setDone({ ...list, added, asked: new Set(indices).size });
      setChosen(list.id);
      setName('');
      await queryClient.invalidateQueries(trpc.list.mine.queryFilter());
    } catch {
      // the mutation's error is shown below
    }
  };

  return (
    <form id={props.formId} className="add-to-list" onSubmit={submit} aria-label={props.action}>
      <label>
        List
        <select value={listId} onChange={(e) => setChosen(e.target.value)} disabled={mine.isPending}>
          {mine.data?.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name} ({l.entries})
            </option>
          ))}
          <option value={NEW}>a new list…</option>
        </select>
      </label>
      {listId === NEW && (
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required placeholder="name of the new list" />
        </label>
      )}
      <button type="submit" className="small" disabled={mine.isPending || create.isPending || add.isPending}>
        {props.action}
      </button>
      {done && (
        <span className="small" role="status" data-testid="added-to-list">
          {done.added === done.asked ? `Added ${done.added}` : `Added ${done.added} (${done.asked - done.added} already there)`} to{' '}
          <Link href={`/lists/${done.id}`}>{done.name}</Link>
        </span>
      )}
      <ErrorLine error={problem ?? create.error ?? add.error ?? mine.error} inline small />
    </form>
  );
}
