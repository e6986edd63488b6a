'use client';
/**
 * The labelling queue's form: Enter saves the label and moves to the next feature, Escape skips. Saving goes through
 * feature.edit with the revision the page was read at, so a label someone else saved meanwhile is never overwritten.
 */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { saeHref } from '@/server/addresses';
import { useTRPC } from '../trpc';

export function LabelForm(props: {
  model: string;
  sae: string;
  index: number;
  label: string;
  body: string;
  revision: number;
  canEdit: boolean;
  signedIn: boolean;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const [label, setLabel] = useState(props.label);
  const [body, setBody] = useState(props.body);
  const [showBody, setShowBody] = useState(props.body !== '');
  const input = useRef<HTMLInputElement>(null);
  const nextHref = `${saeHref(props)}/label?at=${props.index + 1}`;
  const skip = () => router.push(nextHref);
  const edit = useMutation(trpc.feature.edit.mutationOptions({ onSuccess: () => router.push(nextHref) }));

  useEffect(() => input.current?.focus(), []);
  // Escape skips from anywhere on the page (unless a save is under way).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !edit.isPending) {
        e.preventDefault();
        skip();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const save = () => {
    if (!props.canEdit || edit.isPending) return;
    if (label.trim() === '') return skip();
    edit.mutate({
      model: props.model,
      sae: props.sae,
      index: props.index,
      label: label.trim(),
      body,
      summary: 'label from the labelling queue',
      baseRevision: props.revision,
    });
  };

  const conflict = edit.error?.data?.code === 'CONFLICT';
  return (
    <form
      className="label-form"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
      aria-describedby="label-keys"
    >
      <label>
        Label
        <input
          ref={input}
          name="label"
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          maxLength={200}
          placeholder={props.canEdit ? 'what does this feature respond to?' : 'sign in as an editor to label'}
          disabled={!props.canEdit}
          autoComplete="off"
        />
      </label>
      {showBody ? (
        <label>
          Description (markdown, optional)
          <textarea
            value={body}
            onChange={(e) => setBody(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                save();
              }
            }}
            disabled={!props.canEdit}
          />
        </label>
      ) : (
        props.canEdit && (
          <button type="button" className="link" onClick={() => setShowBody(true)}>
            + add a description
          </button>
        )
      )}
      <div className="row">
        <button type="submit" disabled={!props.canEdit || edit.isPending}>
          {edit.isPending ? 'Saving…' : 'Save and next'} <kbd>Enter</kbd>
        </button>
        <button type="button" className="secondary" onClick={skip}>
          Skip <kbd>Esc</kbd>
        </button>
        {!props.signedIn && <Link href="/signin">Sign in to label</Link>}
      </div>
      <p id="label-keys" className="muted small">
        Enter saves and opens the next unlabelled feature (Ctrl+Enter in the description); Escape skips this one. An empty label skips too.
      </p>
      {edit.error && (
        <div className="error" role="alert">
          {conflict ? (
            <>
              Someone saved this feature while you were reading it: {edit.error.message}.{' '}
              <button type="button" className="link" onClick={() => router.refresh()}>
                Load their version
              </button>{' '}
              or <Link href={nextHref}>go on to the next one</Link>.
            </>
          ) : (
            edit.error.message
          )}
        </div>
      )}
    </form>
  );
}
