'use client';
/** Making and editing feature lists: create, add features by address with a note, edit notes, reorder, remove. */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { FeatureListView } from '@/server/lists';
import { featureHref, formatFeatureAddress } from '@/server/addresses';
import { useTRPC } from '../trpc';
import { ErrorLine } from './error-line';
import { formatFraction } from './token-format';
import { CardSnippet, TopTokens } from './feature-card';

export function NewListForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation(trpc.list.create.mutationOptions({ onSuccess: ({ id }) => router.push(`/lists/${id}`) }));
  return (
    <form
      className="panel stack-wide"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate({ name, description });
      }}
    >
      <h2>New list</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
      </label>
      <label>
        Description
        <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={5000} />
      </label>
      <div className="row">
        <button type="submit" disabled={create.isPending}>
          Create list
        </button>
      </div>
      <ErrorLine error={create.error} />
    </form>
  );
}

type Entry = FeatureListView['entries'][number];

function NoteCell({ listId, entry }: { listId: string; entry: Entry }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [note, setNote] = useState(entry.note);
  const save = useMutation(trpc.list.setNote.mutationOptions({ onSuccess: () => router.refresh() }));
  const dirty = note !== entry.note;
  return (
    <form
      className="note-form"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ id: listId, address: formatFeatureAddress(entry), note });
      }}
    >
      <input aria-label={`Note on ${formatFeatureAddress(entry)}`} value={note} onChange={(e) => setNote(e.target.value)} maxLength={5000} placeholder="add a note" />
      {dirty && (
        <button type="submit" className="secondary small-button" disabled={save.isPending}>
          Save
        </button>
      )}
      <ErrorLine error={save.error} inline />
    </form>
  );
}

export function ListEditor({ list }: { list: FeatureListView }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [address, setAddress] = useState('');
  const [note, setNote] = useState('');
  const refresh = { onSuccess: () => router.refresh() };
  const add = useMutation(
    trpc.list.addEntry.mutationOptions({
      onSuccess: () => {
        setAddress('');
        setNote('');
        router.refresh();
      },
    }),
  );
  const move = useMutation(trpc.list.moveEntry.mutationOptions(refresh));
  const remove = useMutation(trpc.list.removeEntry.mutationOptions(refresh));
  const del = useMutation(trpc.list.delete.mutationOptions({ onSuccess: () => router.push('/lists') }));
  const error = add.error ?? move.error ?? remove.error ?? del.error;
  return (
    <>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate({ id: list.id, address, note });
        }}
        aria-label="Add a feature"
      >
        <label className="grow">
          Feature address
          <input value={address} onChange={(e) => setAddress(e.target.value)} placeholder="model/sae/index" required />
        </label>
        <label className="grow">
          Note
          <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={5000} />
        </label>
        <button type="submit" disabled={add.isPending}>
          Add to list
        </button>
      </form>
      <ErrorLine error={error} />
      {list.entries.length === 0 ? (
        <p className="muted">This list is empty: add features by their address.</p>
      ) : (
        <div className="table-scroll">
          <table data-testid="list-entries">
            <thead>
              <tr>
                <th>feature</th>
                <th>label</th>
                <th>top tokens</th>
                <th>snippet</th>
                <th>note</th>
                <th className="num">density</th>
                <th>
                  <span className="sr-only">actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.entries.map((e, i) => (
                <tr key={formatFeatureAddress(e)}>
                  <td className="mono nowrap">
                    <Link href={featureHref(e)}>{formatFeatureAddress(e)}</Link>
                  </td>
                  <td>{e.label ?? <span className="muted">—</span>}</td>
                  <td>
                    <TopTokens card={e} />
                  </td>
                  <td className="snippet-cell">
                    <CardSnippet snippet={e.snippet} />
                  </td>
                  <td>
                    <NoteCell listId={list.id} entry={e} />
                  </td>
                  <td className="num mono">{e.density === null ? '—' : e.density === 0 ? 'dead' : formatFraction(e.density)}</td>
                  <td className="nowrap">
                    <button type="button" className="link" aria-label={`Move ${formatFeatureAddress(e)} up`} disabled={i === 0} onClick={() => move.mutate({ id: list.id, address: formatFeatureAddress(e), direction: 'up' })}>
                      ↑
                    </button>{' '}
                    <button
                      type="button"
                      className="link"
                      aria-label={`Move ${formatFeatureAddress(e)} down`}
                      disabled={i === list.entries.length - 1}
                      onClick={() => move.mutate({ id: list.id, address: formatFeatureAddress(e), direction: 'down' })}
                    >
                      ↓
                    </button>{' '}
                    <button type="button" className="link danger" onClick={() => remove.mutate({ id: list.id, address: formatFeatureAddress(e) })}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <button
          type="button"
          className="link danger"
          onClick={() => {
            if (window.confirm(`Delete the list “${list.name}”?`)) del.mutate({ id: list.id });
          }}
        >
          Delete this list
        </button>
      </p>
    </>
  );
}
