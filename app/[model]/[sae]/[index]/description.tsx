'use client';
/**
 * The feature's label (the heading) and markdown description, rendered on the server and sanitised there. Editors
 * edit both; a save names the revision it started from, and when someone else saved first the editor shows their
 * version beside yours instead of overwriting it.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { FeaturePage } from '@/server/feature-page';
import { MarkdownView } from '../../../_components/markdown-view';
import { useTRPC } from '../../../trpc';
import styles from './feature.module.css';
import { ErrorLine } from '../../../_components/error-line';

interface Address {
  model: string;
  sae: string;
  index: number;
}

interface Conflict {
  label: string;
  body: string;
  html: string;
  revision: number;
  updatedBy: string | null;
}

export function Description(props: { address: Address; title: string; page: FeaturePage['page']; canEdit: boolean; signedIn: boolean }) {
  const { page } = props;
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [label, setLabel] = useState(page.label);
  const [body, setBody] = useState(page.body);
  const [summary, setSummary] = useState('');
  const [base, setBase] = useState(page.revision);
  const [preview, setPreview] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [saved, setSaved] = useState(false);
  /** the user's own text, kept beside the editor after they chose to edit the current version instead */
  const [draft, setDraft] = useState<{ label: string; body: string } | null>(null);

  const save = useMutation(
    trpc.feature.edit.mutationOptions({
      onSuccess: ({ revision }) => {
        setEditing(false);
        setConflict(null);
        setDraft(null);
        setBase(revision);
        setSaved(true);
        router.refresh();
      },
      onError: async (err) => {
        if (err instanceof TRPCClientError && err.data?.code === 'CONFLICT') {
          const current = await queryClient.fetchQuery(trpc.feature.current.queryOptions(props.address, { staleTime: 0 }));
          setConflict(current);
        }
      },
    }),
  );
  const render = useMutation(trpc.feature.preview.mutationOptions({ onSuccess: ({ html }) => setPreview(html) }));

  const startEditing = () => {
    setLabel(page.label);
    setBody(page.body);
    setBase(page.revision);
    setSummary('');
    setPreview(null);
    setConflict(null);
    setDraft(null);
    setSaved(false);
    setEditing(true);
  };
  const submit = (baseRevision: number) =>
    save.mutate({ ...props.address, label, body, summary, baseRevision });

  const history = page.revision > 0 && (
    <span className="muted">
      revision {page.revision}
      {page.updatedBy && <> by {page.updatedBy}</>}
      {page.updatedAt && <> · {page.updatedAt.slice(0, 10)}</>}
    </span>
  );

  if (!editing) {
    return (
      <header className={styles.head}>
        <h1 data-testid="feature-title">
          <span className="mono">{props.title}</span>{' '}
          {page.label ? (
            <span data-testid="feature-label">{page.label}</span>
          ) : (
            <span className="muted" data-testid="feature-label">
              unlabelled
            </span>
          )}
        </h1>
        <div className="row">
          {history}
          {/* only while the page is still the revision this user saved: a newer one arriving live is someone else's */}
          {saved && page.revision === base && (
            <span role="status" className={styles.saved}>
              Saved.
            </span>
          )}
          {props.canEdit ? (
            <button type="button" className="secondary small" onClick={startEditing} data-testid="edit-feature">
              Edit label and description
            </button>
          ) : !props.signedIn ? (
            <span className="muted">
              <Link href="/signin">Sign in</Link> to edit.
            </span>
          ) : null}
        </div>
        {page.html ? (
          // Rendered from markdown and sanitised on the server (server/markdown.ts).
          <MarkdownView html={page.html} className={styles.markdown} testId="feature-description" />
        ) : (
          <p className="muted" data-testid="feature-description">
            No description yet.
          </p>
        )}
      </header>
    );
  }

  return (
    <header className={styles.head}>
      <h1>
        <span className="mono">{props.title}</span> <span className="muted">editing</span>
      </h1>
      <form
        className={styles.editor}
        onSubmit={(e) => {
          e.preventDefault();
          submit(base);
        }}
        aria-label="Edit the label and description"
      >
        <label>
          Label
          <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={200} placeholder="what this feature responds to" />
        </label>
        <label>
          Description <span className="muted">(markdown; link features as [[model/sae/index]])</span>
          <textarea value={body} onChange={(e) => setBody(e.target.value)} rows={8} />
        </label>
        <label>
          Summary of the change
          <input value={summary} onChange={(e) => setSummary(e.target.value)} maxLength={500} placeholder="optional" />
        </label>
        <div className="row">
          <button type="submit" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="secondary" onClick={() => render.mutate({ body })} disabled={render.isPending}>
            Preview
          </button>
          <button type="button" className="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
          <span className="muted">based on revision {base}</span>
        </div>
        <ErrorLine error={!conflict && save.error} />
      </form>
      {preview !== null && (
        <section className={styles.preview} aria-label="Preview">
          <MarkdownView html={preview || '<p><em>(empty)</em></p>'} className={styles.markdown} />
        </section>
      )}
      {draft && (
        <section className={styles.preview} aria-label="Your draft" data-testid="kept-draft">
          <h3>Your draft (not saved), kept beside the current version</h3>
          <p>
            <strong>{draft.label || <span className="muted">no label</span>}</strong>
          </p>
          <pre className={styles.source}>{draft.body || '(empty)'}</pre>
          <button type="button" className="secondary small" onClick={() => setDraft(null)}>
            Dismiss the draft
          </button>
        </section>
      )}
      {conflict && (
        <section className={styles.conflict} role="alert" data-testid="edit-conflict">
          <p>
            <strong>Someone else saved first.</strong> The page is now at revision {conflict.revision}
            {conflict.updatedBy && <> by {conflict.updatedBy}</>}; yours was based on revision {base}. Nothing was overwritten.
          </p>
          <div className={styles.versions}>
            <div data-testid="conflict-theirs">
              <h3>Current version (revision {conflict.revision})</h3>
              <p>
                <strong>{conflict.label || <span className="muted">no label</span>}</strong>
              </p>
              <pre className={styles.source}>{conflict.body || '(empty)'}</pre>
            </div>
            <div data-testid="conflict-mine">
              <h3>Your version</h3>
              <p>
                <strong>{label || <span className="muted">no label</span>}</strong>
              </p>
              <pre className={styles.source}>{body || '(empty)'}</pre>
            </div>
          </div>
          <div className="row">
            <button type="button" onClick={() => submit(conflict.revision)} disabled={save.isPending}>
              Save mine over revision {conflict.revision}
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setDraft({ label, body });
                setLabel(conflict.label);
                setBody(conflict.body);
                setBase(conflict.revision);
                setConflict(null);
              }}
            >
              Edit the current version instead
            </button>
          </div>
        </section>
      )}
    </header>
  );
}
