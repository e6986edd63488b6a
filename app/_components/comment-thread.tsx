/**
 * A discussion thread, server-rendered (readable without JavaScript): comments in markdown with feature chips,
 * replies under their parent, an "edited" marker that opens the earlier versions, tombstones for deleted comments,
 * and (with JavaScript) forms to post, reply, edit and delete. Put it on any page:
 *
 *   <CommentThread target={{ kind: 'feature', saeId, index }} />
 *   <CommentThread target={{ kind: 'sae', saeId }} />
 *   <CommentThread target={{ kind: 'hypothesis', hypothesisId }} />
 *
 * It reads through tRPC (comment.thread), so the viewer sees it only where they may read its target.
 */
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import type { CommentView, ThreadTarget } from '@/server/comments';
import { CommentActions, CommentComposer } from './comment-form';
import styles from './comment-thread.module.css';
import { MarkdownView } from './markdown-view';
import { utc } from '../_lib/time';

export type { ThreadTarget };

/** Replies nest visually this deep; deeper ones line up with their parent. */
const MAX_INDENT = 4;

export async function CommentThread({ target, title = 'Discussion' }: { target: ThreadTarget; title?: string }) {
  const thread = await (await api()).comment.thread(target);
  const replies = new Map<string | null, CommentView[]>();
  for (const c of thread.comments) {
    const parent = c.parentId && thread.comments.some((p) => p.id === c.parentId) ? c.parentId : null;
    replies.set(parent, [...(replies.get(parent) ?? []), c]);
  }
  const live = thread.comments.filter((c) => !c.deleted).length;

  const render = (c: CommentView, depth: number) => (
    <li key={c.id} id={`comment-${c.id}`} className={styles.comment} data-testid="comment" data-deleted={c.deleted ? 'true' : undefined}>
      <div className={styles.meta}>
        {c.deleted ? (
          <span className="muted" data-testid="comment-tombstone">
            comment deleted by {c.deleted.by} · {utc(c.deleted.at)}
          </span>
        ) : (
          <>
            <strong data-testid="comment-author">{c.author.name}</strong>
            <a className="muted" href={`#comment-${c.id}`}>
              <time dateTime={c.createdAt.toISOString()}>{utc(c.createdAt)}</time>
            </a>
            {c.history.length > 0 && (
              <details className={styles.history} data-testid="comment-history">
                <summary>edited</summary>
                <ol>
                  {c.history.map((h) => (
                    <li key={h.revision}>
                      <div className="muted">
                        version {h.revision + 1} of {c.revision + 1} · {utc(h.createdAt)}
                      </div>
                      <MarkdownView html={h.html} />
                    </li>
                  ))}
                </ol>
              </details>
            )}
          </>
        )}
      </div>
      {!c.deleted && <MarkdownView html={c.html} testId="comment-body" />}
      {thread.viewer.signedIn && !c.deleted && (
        <CommentActions target={target} id={c.id} body={c.body} canReply={thread.viewer.canComment} canEdit={c.canEdit} canDelete={c.canDelete} />
      )}
      {(replies.get(c.id) ?? []).length > 0 && (
        <ol className={depth < MAX_INDENT ? styles.replies : styles.flat}>{replies.get(c.id)!.map((r) => render(r, depth + 1))}</ol>
      )}
    </li>
  );

  return (
    <section className={styles.thread} aria-label={title} data-testid="comment-thread">
      <h2>
        {title} <span className="muted">({live} comment{live === 1 ? '' : 's'})</span>
      </h2>
      {thread.comments.length === 0 ? <p className="muted">No comments yet.</p> : <ol className={styles.list}>{(replies.get(null) ?? []).map((c) => render(c, 0))}</ol>}
      {thread.viewer.canComment ? (
        <CommentComposer target={target} />
      ) : !thread.viewer.signedIn ? (
        <p className="muted">
          <Link href="/signin">Sign in</Link> to comment.
        </p>
      ) : (
        <p className="muted">You may read this discussion but not comment here.</p>
      )}
    </section>
  );
}
