/**
 * A feature page's history: every revision of its label and description (author, time, summary), word-level diffs
 * between any two (the `diff` package), and revert, which writes the old text as a new revision through the same
 * optimistic-concurrency path as any edit (editFeature), so a revert based on a stale revision is refused too.
 */
import { diffWords } from 'diff';
import { and, desc, eq, sql } from 'drizzle-orm';
import { featureRevisions, users } from '@/drizzle/schema';
import type { Db } from './db';
import { notFound } from './errors';
import { editFeature } from './descriptions';
import { displayNameSql } from './users';

export interface RevisionSummary {
  revision: number;
  label: string;
  summary: string;
  author: { id: string; name: string } | null;
  createdAt: Date;
  /** characters in the description (the list shows how much each revision changed it) */
  bodyLength: number;
}

export interface Revision extends RevisionSummary {
  body: string;
}

/** One run of words: unchanged, inserted (in `to`, not `from`) or deleted (in `from`, not `to`). */
export interface DiffPart {
  text: string;
  kind: 'same' | 'ins' | 'del';
}

export interface RevisionDiff {
  from: Revision;
  to: Revision;
  label: DiffPart[];
  body: DiffPart[];
}

const authorName = sql<string>`${displayNameSql('"user"')}`;

/** Every revision of a feature page, newest first. */
export async function featureHistory(db: Db, saeId: string, index: number): Promise<RevisionSummary[]> {
  const rows = await db
    .select({
      revision: featureRevisions.revision,
      label: featureRevisions.label,
      summary: featureRevisions.summary,
      authorId: featureRevisions.authorId,
      authorName,
      createdAt: featureRevisions.createdAt,
      bodyLength: sql<number>`length(${featureRevisions.body})::int`,
    })
    .from(featureRevisions)
    .leftJoin(users, eq(users.id, featureRevisions.authorId))
    .where(and(eq(featureRevisions.saeId, saeId), eq(featureRevisions.index, index)))
    .orderBy(desc(featureRevisions.revision));
  return rows.map(({ authorId, authorName, ...r }) => ({ ...r, author: authorId ? { id: authorId, name: authorName } : null }));
}

/** One revision, or undefined when the page has no such revision. */
export async function getRevision(db: Db, saeId: string, index: number, revision: number): Promise<Revision | undefined> {
  const [row] = await db
    .select({
      revision: featureRevisions.revision,
      label: featureRevisions.label,
      body: featureRevisions.body,
      summary: featureRevisions.summary,
      authorId: featureRevisions.authorId,
      authorName,
      createdAt: featureRevisions.createdAt,
    })
    .from(featureRevisions)
    .leftJoin(users, eq(users.id, featureRevisions.authorId))
    .where(and(eq(featureRevisions.saeId, saeId), eq(featureRevisions.index, index), eq(featureRevisions.revision, revision)));
  if (!row) return undefined;
  const { authorId, authorName: name, ...rest } = row;
  return { ...rest, bodyLength: rest.body.length, author: authorId ? { id: authorId, name } : null };
}

/** Word-level differences turning `from` into `to`. */
export function wordDiff(from: string, to: string): DiffPart[] {
  return diffWords(from, to).map((c) => ({ text: c.value, kind: c.added ? 'ins' : c.removed ? 'del' : 'same' }));
}

const revisionNotFound = (revision: number) => notFound(`this feature has no revision ${revision}`);

/** The word-level diff of the label and of the description between two revisions (either order). */
export async function compareRevisions(db: Db, saeId: string, index: number, fromRevision: number, toRevision: number): Promise<RevisionDiff> {
  const [from, to] = await Promise.all([getRevision(db, saeId, index, fromRevision), getRevision(db, saeId, index, toRevision)]);
  if (!from) throw revisionNotFound(fromRevision);
  if (!to) throw revisionNotFound(toRevision);
  return { from, to, label: wordDiff(from.label, to.label), body: wordDiff(from.body, to.body) };
}

export interface Revert {
  saeId: string;
  index: number;
  /** the revision whose label and description come back */
  toRevision: number;
  /** the revision the reverting user saw as current (a stale one is refused with EditConflict) */
  baseRevision: number;
  authorId: string;
}

/** Writes revision `toRevision`'s text as a new revision ("Reverted to revision N"); throws EditConflict when stale. */
export async function revertFeature(db: Db, revert: Revert): Promise<{ revision: number }> {
  const target = await getRevision(db, revert.saeId, revert.index, revert.toRevision);
  if (!target) throw revisionNotFound(revert.toRevision);
  // editFeature publishes the `label` event and notifies watchers when the label changes.
  return editFeature(db, {
    saeId: revert.saeId,
    index: revert.index,
    label: target.label,
    body: target.body,
    summary: `Reverted to revision ${revert.toRevision}`,
    baseRevision: revert.baseRevision,
    authorId: revert.authorId,
  });
}
