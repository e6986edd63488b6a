'use client';
/** The forms of a discussion thread (comment-thread.tsx): write or edit a comment with a preview, reply, delete. */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, useTransition } from 'react';
import type { ThreadTarget } from '@/server/comments';
import { useTRPC } from '../trpc';
import styles from './comment-thread.module.css';
import { MarkdownView } from './markdown-view';
import { ErrorLine } from './error-line';

const MAX_CHARS = 20_000;

/** A new comment (or a reply to `parentId`), or an edit of comment `editing` when given. */
export function CommentComposer(props: { target: ThreadTarget; parentId?: string; editing?: { id: string; body: string }; onDone?: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [body, setBody] = useState(props.editing?.body ?? '');
  const [preview, setPreview] = useState<string | null>(null);
  const [refreshing, startTransition] = useTransition();
  // The form empties (or closes) in the same render that shows the refreshed thread with the new comment.
  const done = () =>
    startTransition(() => {
      router.refresh();
      setBody('');
      setPreview(null);
      props.onDone?.();
    });
  const post = useMutation(trpc.comment.post.mutationOptions({ onSuccess: done }));
  const edit = useMutation(trpc.comment.edit.mutationOptions({ onSuccess: done }));
  const render = useMutation(trpc.comment.preview.mutationOptions({ onSuccess: ({ html }) => setPreview(html) }));
  const saving = post.isPending || edit.isPending || refreshing;
  const error = post.error ?? edit.error ?? render.error;
  const verb = props.editing ? 'Save' : props.parentId ? 'Reply' : 'Comment';

  return (
    <form
      className={styles.form}
      aria-label={props.editing ? 'Edit the comment' : props.parentId ? 'Reply' : 'New comment'}
      onSubmit={(e) => {
        e.preventDefault();
        if (props.editing) edit.mutate({ id: props.editing.id, body });
        else post.mutate({ target: props.target, parentId: props.parentId ?? null, body });
      }}
    >
      <textarea
        value={body}
        onChange={(e) => setBody(e.target.value)}
        aria-label="Comment (markdown)"
        placeholder="Markdown, $maths$, footnotes[^1], [[model/sae/index]] feature links, @name mentions"
        data-testid="comment-input"
      />
      <div className="row">
        <button type="submit" disabled={saving || body.trim() === ''} data-testid="comment-submit">
          {saving ? 'Saving…' : verb}
        </button>
        <button type="button" className="secondary" onClick={() => render.mutate({ body })} disabled={render.isPending} data-testid="comment-preview-button">
          Preview comment
        </button>
        {props.onDone && (
          <button type="button" className="secondary" onClick={props.onDone}>
            Cancel
          </button>
        )}
        <span className={body.length > MAX_CHARS ? 'error' : 'muted'}>
          {body.length.toLocaleString('en')} / {MAX_CHARS.toLocaleString('en')}
        </span>
      </div>
      <ErrorLine error={error} testId="comment-error" />
      {preview !== null && (
        <div className={styles.preview} aria-label="Comment preview" data-testid="comment-preview">
          <MarkdownView html={preview || '<p><em>(empty)</em></p>'} />
        </div>
      )}
    </form>
  );
}

/** Reply, edit and delete under one comment. */
export function CommentActions(props: { target: ThreadTarget; id: string; body: string; canReply: boolean; canEdit: boolean; canDelete: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [open, setOpen] = useState<'reply' | 'edit' | null>(null);
  const remove = useMutation(trpc.comment.delete.mutationOptions({ onSuccess: () => router.refresh() }));
  return (
    <>
      <div className={styles.actions}>
        {props.canReply && (
          <button type="button" className="link" onClick={() => setOpen(open === 'reply' ? null : 'reply')} data-testid="comment-reply">
            Reply
          </button>
        )}
        {props.canEdit && (
          <button type="button" className="link" onClick={() => setOpen(open === 'edit' ? null : 'edit')} data-testid="comment-edit">
            Edit
          </button>
        )}
        {props.canDelete && (
          <button
            type="button"
            className="link danger"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm('Delete this comment? Replies stay; the comment becomes a "deleted" marker.')) remove.mutate({ id: props.id });
            }}
            data-testid="comment-delete"
          >
            Delete
          </button>
        )}
        <ErrorLine error={remove.error} inline />
      </div>
      {open === 'reply' && <CommentComposer target={props.target} parentId={props.id} onDone={() => setOpen(null)} />}
      {open === 'edit' && <CommentComposer target={props.target} editing={{ id: props.id, body: props.body }} onDone={() => setOpen(null)} />}
    </>
  );
}
