/**
 * Discussions: threaded comments on a feature, an SAE or a hypothesis, in markdown (server/markdown.ts).
 *
 * - Anyone who may `comment` on the thread's SAE (or hypothesis) posts and replies; replies name their parent.
 * - Only the author edits; each edit keeps the earlier body as a comment_revision (the visible "edited" history).
 * - The author or a moderator deletes: the row stays as a tombstone ("comment deleted by X", body and history
 *   gone) so that replies keep their place.
 * - Each body is rendered to HTML when written and stored beside it (body_html; server/markdown.ts), so reading a
 *   thread parses no markdown: chips are put into the stored HTML for the reader. A body over the bounds of
 *   server/markdown.ts is refused; one stored before the bounds (or before body_html, or before mention links:
 *   migration 0007) renders once, on first read, and one that cannot be rendered shows a placeholder instead, leaving
 *   the rest of the thread as it is. `@handle`s of real accounts link to their pages (`a.mention`).
 * - Every write rewrites the comment's feature links in its transaction, publishes a `comment` event on the
 *   thread's topic, and notifies: `@handle` mentions (the account's unique handle, case-insensitively, so a mention
 *   reaches exactly one account; only if it may read the thread), then the thread's watchers. Posting watches the
 *   thread.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { commentRevisions, comments, hypotheses, users } from '@/drizzle/schema';
import { featureIndexInput } from './address-inputs';
import { featureHref, formatFeatureAddress, formatSaeAddress, hypothesisHref, saeHref, type FeatureAddress } from './addresses';
import { authorize, levelOn, permissions, requireLevel, type Action, type Level, type Viewer } from './authz';
import { getDb, isUuid, withTransaction, type Db } from './db';
import { DomainError, badInput, forbidden, notFound, unauthenticated } from './errors';
import { featureTopic, hypothesisTopic, publish, saeTopic } from './events';
import { renderForWrite, syncFeatureLinks, withChips } from './feature-links';
import { hypothesisAccess } from './hypotheses';
import { findSaeById } from './visibility';
import { clip, parseMarkdown, renderStoredOrPlaceholder, type StoredOptions } from './markdown';
import { notifyUsers, notifyWatchers, watch, type WatchKind } from './notifications';
import { renderMemo, viewerKey } from './render-memo';
import { displayNameSql, hasHandleSql, type Role } from './users';

export const MAX_COMMENT_CHARS = 20_000;
/** at most this many distinct @handles of one comment are looked up */
const MAX_MENTIONS = 20;

/** Whose thread a comment is in. */
export type ThreadTarget = { kind: 'feature'; saeId: string; index: number } | { kind: 'sae'; saeId: string } | { kind: 'hypothesis'; hypothesisId: string };

export const threadTargetInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('feature'), saeId: z.string().uuid(), index: featureIndexInput }),
  z.object({ kind: z.literal('sae'), saeId: z.string().uuid() }),
  z.object({ kind: z.literal('hypothesis'), hypothesisId: z.string().uuid() }),
]);

export const commentBodyInput = z
  .string()
  .max(MAX_COMMENT_CHARS, `the comment is longer than ${MAX_COMMENT_CHARS.toLocaleString('en')} characters`)
  .refine((s) => s.trim() !== '', 'the comment is empty');

/** A thread as authorisation, events, notifications and links see it. */
interface Thread {
  target: ThreadTarget;
  /** the page the thread is on */
  href: string;
  /** how notifications name it */
  title: string;
  topic: string;
  watch: { kind: WatchKind; targetId: string };
  /** the viewer's level, for what the page offers */
  level: Level;
  /** who else may read it */
  canRead: (user: { id: string; role: Role }) => Promise<boolean>;
  /** comments of this thread */
  where: SQL;
}

/** The thread of a target, once the viewer is allowed `action` on it (NOT_FOUND when they may not see it). */
async function openThread(db: Db, viewer: Viewer, target: ThreadTarget, action: Action): Promise<Thread> {
  if (target.kind === 'hypothesis') {
    const [h] = await db.select({ statement: hypotheses.statement }).from(hypotheses).where(eq(hypotheses.id, target.hypothesisId));
    if (!h) throw notFound(`no hypothesis ${target.hypothesisId}`);
    const { level } = await hypothesisAccess(db, viewer, target.hypothesisId);
    requireLevel(viewer, level, action, `hypothesis ${target.hypothesisId}`);
    return {
      target,
      href: hypothesisHref(target.hypothesisId),
      title: `the hypothesis “${clip(h.statement, 80)}”`,
      topic: hypothesisTopic(target.hypothesisId),
      watch: { kind: 'hypothesis', targetId: target.hypothesisId },
      level,
      canRead: async (user) => (await hypothesisAccess(db, user, target.hypothesisId)).level !== 'none',
      where: threadWhere(target),
    };
  }
  const found = await findSaeById(db, target.saeId);
  const sae = found && { model: found.modelSlug, sae: found.saeSlug, dSae: found.dSae };
  const isFeature = target.kind === 'feature';
  const address = sae && (isFeature ? formatFeatureAddress({ ...sae, index: target.index }) : formatSaeAddress(sae));
  const what = isFeature ? `feature ${address ?? `${target.saeId}/${target.index}`}` : `SAE ${address ?? target.saeId}`;
  if (!sae || (isFeature && target.index >= sae.dSae)) throw notFound(`no ${what}`);
  const level = await authorize(db, viewer, action, { sae: target.saeId }, what);
  return {
    target,
    href: isFeature ? featureHref({ ...sae, index: target.index }) : saeHref(sae),
    title: address!,
    topic: isFeature ? featureTopic(target.saeId, target.index) : saeTopic(target.saeId),
    watch: { kind: target.kind, targetId: isFeature ? `${target.saeId}/${target.index}` : target.saeId },
    level,
    canRead: async (user) => (await levelOn(db, user, { sae: target.saeId })) !== 'none',
    where: threadWhere(target),
  };
}

/**
 * The comments of a thread, a condition on comment. A feature's SAE may be given as SQL: the feature page's statement
 * knows it by its address.
 */
function threadWhere(target: ThreadTarget | { kind: 'feature'; saeId: SQL; index: number }): SQL {
  if (target.kind === 'hypothesis') return eq(comments.hypothesisId, target.hypothesisId);
  return and(
    eq(comments.threadKind, target.kind),
    eq(comments.saeId, target.saeId),
    target.kind === 'feature' ? eq(comments.featureIndex, target.index) : isNull(comments.featureIndex),
  )!;
}

function targetOfRow(row: typeof comments.$inferSelect): ThreadTarget {
  if (row.threadKind === 'hypothesis') return { kind: 'hypothesis', hypothesisId: row.hypothesisId! };
  if (row.threadKind === 'sae') return { kind: 'sae', saeId: row.saeId! };
  return { kind: 'feature', saeId: row.saeId!, index: row.featureIndex! };
}

/** A comment and its thread, locked for the write, once the viewer may `action` on the thread. */
async function commentForWrite(tx: Db, viewer: Viewer, id: string, action: Action) {
  const [row] = isUuid(id) ? await tx.select().from(comments).where(eq(comments.id, id)).for('update') : [];
  if (!row) throw notFound(`no comment ${id}`);
  const thread = await openThread(tx, viewer, targetOfRow(row), action).catch((err) => {
    // a comment in a thread the viewer may not see does not exist for them
    if (err instanceof DomainError && err.kind === 'not-found') throw notFound(`no comment ${id}`);
    throw err;
  });
  if (row.deletedAt) throw badInput('that comment was deleted');
  return { row, thread };
}

/** Footnote ids of one revision of one comment, unique on a page showing several. */
const idPrefix = (id: string, revision: number) => `c${id.slice(0, 8)}r${revision}-`;

/** The @handles of a stored body (an earlier one may be over today's bounds: then none). */
function mentionsOf(body: string): string[] {
  try {
    return parseMarkdown(body).mentions;
  } catch {
    return [];
  }
}

function checkBody(body: string): void {
  const parsed = commentBodyInput.safeParse(body);
  if (!parsed.success) throw badInput(parsed.error.issues[0]!.message);
}

/** The enabled accounts of the first MAX_MENTIONS handles (each handle names at most one). */
async function accountsOf(db: Db, handles: string[]) {
  if (handles.length === 0) return [];
  return db
    .select({ id: users.id, role: users.role, handle: users.handle })
    .from(users)
    .where(and(eq(users.disabled, false), hasHandleSql('"user"', handles.slice(0, MAX_MENTIONS))));
}

/** Users the handles name (see the module comment), who may read the thread. */
async function mentionedReaders(db: Db, handles: string[], thread: Thread): Promise<string[]> {
  const readers: string[] = [];
  for (const user of await accountsOf(db, handles)) if (await thread.canRead(user)) readers.push(user.id);
  return readers;
}

/**
 * A comment's body rendered for storing, its @handles of real accounts linked to their pages (server/markdown.ts
 * linkMentions); renderForWrite's refusals. Whether the account may read the thread does not matter here: the link
 * shows whom the text names, the notification goes only to readers.
 */
async function renderComment(db: Db, body: string, options: { hosts: readonly string[]; idPrefix: string }, render = renderForWrite) {
  const accounts = new Map((await accountsOf(db, mentionsOf(body))).map((a) => [a.handle, a.id]));
  return render(body, { ...options, accounts });
}

async function actorName(db: Db, viewer: NonNullable<Viewer>): Promise<string> {
  const [u] = await db.select({ name: sql<string>`${displayNameSql('"user"')}` }).from(users).where(eq(users.id, viewer.id));
  return u?.name ?? 'someone';
}

/** A comment's first line as a notification quotes it: “…”, at most 80 characters. */
function firstLine(source: string): string {
  const line = source.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  return `“${line.length > 80 ? `${line.slice(0, 79)}…` : line}”`;
}

/** Mentions (new ones only, on an edit) and watchers are notified, quoting the comment; the event goes out on commit. */
async function announce(tx: Db, viewer: NonNullable<Viewer>, thread: Thread, commentId: string, source: string, body: { mentions: string[] }, previous: string | null) {
  const name = await actorName(tx, viewer);
  const quote = firstLine(source);
  const url = `${thread.href}#comment-${commentId}`;
  const before = new Set(previous === null ? [] : mentionsOf(previous));
  const handles = body.mentions.filter((h) => !before.has(h));
  const mentioned = await mentionedReaders(tx, handles, thread);
  await notifyUsers(tx, mentioned, { kind: 'mention', actorId: viewer.id, summary: `${name} mentioned you on ${thread.title}: ${quote}`, url });
  if (previous === null) {
    await notifyWatchers(tx, thread.watch, { kind: 'comment', actorId: viewer.id, summary: `${name} commented on ${thread.title}: ${quote}`, url }, mentioned);
  }
  await publish(tx, { topic: thread.topic, type: 'comment', id: commentId });
}

export interface NewComment {
  target: ThreadTarget;
  /** the comment this one replies to (in the same thread) */
  parentId?: string | null;
  body: string;
}

/** Posts a comment (or a reply); `hosts` are this site's, for pasted feature URLs. */
export async function postComment(viewer: Viewer, input: NewComment, hosts: readonly string[]): Promise<{ id: string }> {
  checkBody(input.body);
  // rendered (or refused) before the transaction: the id is chosen here so its footnote ids can be
  const id = randomUUID();
  const rendered = await renderComment(getDb(), input.body, { hosts, idPrefix: idPrefix(id, 0) });
  return withTransaction(async (tx) => {
    const thread = await openThread(tx, viewer, input.target, 'comment');
    if (input.parentId) {
      const [parent] = isUuid(input.parentId)
        ? await tx.select({ deletedAt: comments.deletedAt }).from(comments).where(and(eq(comments.id, input.parentId), thread.where))
        : [];
      if (!parent) throw badInput(`no comment ${input.parentId} in this thread to reply to`);
      if (parent.deletedAt) throw badInput('that comment was deleted: reply to the thread instead');
    }
    const t = input.target;
    const [row] = await tx
      .insert(comments)
      .values({
        id,
        threadKind: t.kind,
        saeId: t.kind === 'hypothesis' ? null : t.saeId,
        featureIndex: t.kind === 'feature' ? t.index : null,
        hypothesisId: t.kind === 'hypothesis' ? t.hypothesisId : null,
        parentId: input.parentId ?? null,
        authorId: viewer!.id,
        body: input.body,
        bodyHtml: rendered.html,
      })
      .returning({ id: comments.id });
    await syncFeatureLinks(tx, 'comment', row!.id, rendered);
    await announce(tx, viewer!, thread, row!.id, input.body, rendered, null);
    await watch(tx, viewer!.id, thread.watch.kind, thread.watch.targetId);
    return { id: row!.id };
  });
}

/** The author changes their comment; the earlier body becomes a revision anyone reading the thread can open. */
export async function editComment(viewer: Viewer, id: string, body: string, hosts: readonly string[]): Promise<{ revision: number }> {
  checkBody(body);
  // rendered (or refused) before the transaction, for the revision the edit will most likely make
  const [current] = isUuid(id) ? await getDb().select({ revision: comments.revision }).from(comments).where(eq(comments.id, id)) : [];
  let rendered = await renderComment(getDb(), body, { hosts, idPrefix: idPrefix(id, (current?.revision ?? 0) + 1) });
  return withTransaction(async (tx) => {
    const { row, thread } = await commentForWrite(tx, viewer, id, 'comment');
    if (row.authorId !== viewer!.id) throw forbidden('only its author can edit a comment');
    if (row.body === body) return { revision: row.revision };
    await tx
      .insert(commentRevisions)
      .values({ commentId: id, revision: row.revision, body: row.body, bodyHtml: row.bodyHtml, createdAt: row.editedAt ?? row.createdAt });
    const revision = row.revision + 1;
    // another edit came between: its footnote ids are for this revision
    if (revision !== (current?.revision ?? 0) + 1) rendered = await renderComment(tx, body, { hosts, idPrefix: idPrefix(id, revision) });
    await tx.update(comments).set({ body, bodyHtml: rendered.html, revision, editedAt: new Date() }).where(eq(comments.id, id));
    await syncFeatureLinks(tx, 'comment', id, rendered);
    await announce(tx, viewer!, thread, id, body, rendered, row.body);
    return { revision };
  });
}

/** The author or a moderator deletes a comment: a tombstone stays, its text, history and links go. */
export async function deleteComment(viewer: Viewer, id: string): Promise<void> {
  await withTransaction(async (tx) => {
    const { row, thread } = await commentForWrite(tx, viewer, id, 'read');
    if (!viewer) throw unauthenticated();
    if (row.authorId !== viewer.id && !permissions(thread.level).moderate)
      throw forbidden('only its author or a moderator can delete a comment');
    await tx.update(comments).set({ body: '', bodyHtml: '', deletedAt: new Date(), deletedBy: viewer.id }).where(eq(comments.id, id));
    await tx.delete(commentRevisions).where(eq(commentRevisions.commentId, id));
    await syncFeatureLinks(tx, 'comment', id, '');
    await publish(tx, { topic: thread.topic, type: 'comment', id });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a thread.

export interface CommentView {
  id: string;
  parentId: string | null;
  author: { id: string | null; name: string };
  createdAt: Date;
  editedAt: Date | null;
  /** the markdown source (empty for a tombstone) */
  body: string;
  html: string;
  revision: number;
  /** earlier versions, newest first */
  history: { revision: number; createdAt: Date; html: string }[];
  deleted: { at: Date; by: string } | null;
  canEdit: boolean;
  canDelete: boolean;
}

export interface ThreadView {
  target: ThreadTarget;
  href: string;
  comments: CommentView[];
  viewer: { signedIn: boolean; canComment: boolean; canModerate: boolean };
}

/** One comment as threadCommentsSql reads it (JSON: times are strings). */
export interface CommentRow {
  id: string;
  parentId: string | null;
  authorId: string | null;
  author: string | null;
  deleter: string | null;
  body: string;
  bodyHtml: string | null;
  revision: number;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** earlier versions, newest first (null: never edited) */
  history: { revision: number; body: string; bodyHtml: string | null; createdAt: string }[] | null;
}

/**
 * SQL: the comments of a thread (`where`, a condition on comment), in the order written, as a JSON array of
 * CommentRow: each with its author's and deleter's names and its earlier versions. readThread sends it alone; the
 * feature page's statement carries its feature's (featureThreadSql), its access read beside it.
 */
function threadCommentsSql(where: SQL): SQL {
  return sql`(select coalesce(json_agg(json_build_object(
      'id', comment.id, 'parentId', comment.parent_id, 'authorId', comment.author_id,
      'author', (select ${displayNameSql()} from "user" u where u.id = comment.author_id),
      'deleter', (select ${displayNameSql()} from "user" u where u.id = comment.deleted_by),
      'body', comment.body, 'bodyHtml', comment.body_html, 'revision', comment.revision,
      'createdAt', comment.created_at, 'editedAt', comment.edited_at, 'deletedAt', comment.deleted_at,
      'history', case when comment.revision > 0 then
        (select json_agg(json_build_object('revision', cr.revision, 'body', cr.body, 'bodyHtml', cr.body_html, 'createdAt', cr.created_at)
                         order by cr.revision desc)
           from comment_revision cr where cr.comment_id = comment.id) end)
    order by comment.created_at, comment.id), '[]'::json)
    from comment where ${where})`;
}

/** SQL: the comments of feature `index` of the SAE `saeId` (threadCommentsSql), for the feature page's statement. */
export function featureThreadSql(saeId: SQL, index: number): SQL {
  return threadCommentsSql(threadWhere({ kind: 'feature', saeId, index }));
}

/** Threads read once per server render (the feature page's statement carries its feature's). */
const threads = renderMemo<ThreadView>();
const threadKey = (viewer: Viewer, target: ThreadTarget) =>
  target.kind === 'hypothesis' ? viewerKey(viewer, target.kind, target.hypothesisId) : viewerKey(viewer, target.kind, target.saeId, target.kind === 'feature' ? target.index : '');

/** Every comment of a thread in the order written (replies point at their parent), rendered with chips. */
export function readThread(db: Db, viewer: Viewer, target: ThreadTarget, hosts: readonly string[]): Promise<ThreadView> {
  return threads.get(threadKey(viewer, target), async () => {
    const thread = await openThread(db, viewer, target, 'read');
    const { rows: [row] } = await db.execute<{ comments: CommentRow[] }>(sql`select ${threadCommentsSql(thread.where)} as comments`);
    return threadView(db, viewer, thread, row!.comments, hosts);
  });
}

/**
 * A feature's thread as the feature page's statement read it (featureThreadSql's rows; `level`, the viewer's on its
 * SAE, read in the same statement), for the rest of this render.
 */
export async function rememberFeatureThread(
  db: Db,
  viewer: Viewer,
  feature: FeatureAddress & { saeId: string },
  level: Level,
  rows: CommentRow[],
  hosts: readonly string[],
): Promise<void> {
  const target: ThreadTarget = { kind: 'feature', saeId: feature.saeId, index: feature.index };
  threads.set(threadKey(viewer, target), await threadView(db, viewer, { target, href: featureHref(feature), level }, rows, hosts));
}

/** A thread's comments as the page shows them: stored HTML with the viewer's chips, and what the viewer may do. */
async function threadView(db: Db, viewer: Viewer, thread: Pick<Thread, 'target' | 'href' | 'level'>, rows: CommentRow[], hosts: readonly string[]): Promise<ThreadView> {
  const may = permissions(thread.level);
  const revisions = rows.flatMap((c) => (c.history ?? []).map((r) => ({ ...r, commentId: c.id })));
  // Stored HTML; a row written before body_html existed renders once, here, and keeps its HTML (or the placeholder).
  const stored = await Promise.all([
    ...rows.map((c) =>
      c.bodyHtml ?? storeLegacyHtml(db, c.body, idPrefix(c.id, c.revision), hosts, (html) =>
        db.update(comments).set({ bodyHtml: html }).where(and(eq(comments.id, c.id), eq(comments.revision, c.revision), isNull(comments.bodyHtml))),
      ),
    ),
    ...revisions.map((r) =>
      r.bodyHtml ?? storeLegacyHtml(db, r.body, idPrefix(r.commentId, r.revision), hosts, (html) =>
        db.update(commentRevisions).set({ bodyHtml: html }).where(and(eq(commentRevisions.commentId, r.commentId), eq(commentRevisions.revision, r.revision))),
      ),
    ),
  ]);
  const html = await withChips(db, viewer, stored);
  const history = new Map<string, CommentView['history']>();
  revisions.forEach((r, i) => {
    const list = history.get(r.commentId) ?? [];
    list.push({ revision: r.revision, createdAt: new Date(r.createdAt), html: html[rows.length + i]! });
    history.set(r.commentId, list);
  });
  return {
    target: thread.target,
    href: thread.href,
    viewer: { signedIn: !!viewer, canComment: may.comment, canModerate: may.moderate },
    comments: rows.map((c, i) => {
      const mine = !!viewer && c.authorId === viewer.id;
      return {
        id: c.id,
        parentId: c.parentId,
        author: { id: c.authorId, name: c.author ?? 'a deleted account' },
        createdAt: new Date(c.createdAt),
        editedAt: c.editedAt === null ? null : new Date(c.editedAt),
        body: c.body,
        html: html[i]!,
        revision: c.revision,
        history: history.get(c.id) ?? [],
        deleted: c.deletedAt ? { at: new Date(c.deletedAt), by: c.deleter ?? 'a deleted account' } : null,
        canEdit: mine && !c.deletedAt && may.comment,
        canDelete: !c.deletedAt && (mine || may.moderate),
      };
    }),
  };
}

/** Renders a body stored without its HTML (placeholder when it cannot be), and stores the result; best effort. */
async function storeLegacyHtml(db: Db, body: string, prefix: string, hosts: readonly string[], store: (html: string) => Promise<unknown>): Promise<string> {
  const render = (markdown: string, options: StoredOptions) => renderStoredOrPlaceholder(markdown, 'comment', options);
  const { html } = await renderComment(db, body, { hosts, idPrefix: prefix }, render);
  await store(html).catch((err) => console.error('storing a rendered comment failed:', err));
  return html;
}
