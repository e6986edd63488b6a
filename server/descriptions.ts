/**
 * A feature's label and markdown description (the human layer of its page): the version that stands, edits appended
 * as revisions (refused with EditConflict when someone saved first), and the description's stored HTML.
 */
import { and, eq, sql } from 'drizzle-orm';
import { featurePages, featureRevisions, labelProposals, labelVotes } from '@/drizzle/schema';
import type { Db } from './db';
import { DomainError } from './errors';
import { featureTopic, publish } from './events';
import { renderForWrite, siteHosts, syncFeatureLinks } from './feature-links';
import { renderStoredOrPlaceholder, type StoredRendering } from './markdown';
import { notifyFeatureWatchers } from './notifications';
import { displayNameSql } from './users';

export interface PageVersion {
  label: string;
  body: string;
  /** the body's stored HTML (feature links neutral: server/markdown.ts applyChips) */
  html: string;
  revision: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** The label and description as they stand (revision 0, empty, when never edited). */
export async function currentPageVersion(db: Db, saeId: string, index: number): Promise<PageVersion> {
  const [row] = await db.execute<{ label: string; body: string; body_html: string | null; revision: number; updated_at: Date; updated_by: string | null }>(sql`
    select p.label, p.body, p.body_html, p.revision, p.updated_at, ${displayNameSql()} as updated_by
    from ${featurePages} p left join "user" u on u.id = p.updated_by
    where p.sae_id = ${saeId} and p.index = ${index}`).then((r) => r.rows);
  if (!row) return { label: '', body: '', html: '', revision: 0, updatedAt: null, updatedBy: null };
  const html = await descriptionHtml(db, saeId, index, row.revision, row.body, row.body_html);
  return { label: row.label, body: row.body, html, revision: row.revision, updatedAt: new Date(row.updated_at), updatedBy: row.updated_by };
}

/** Footnote ids of a description (one per page). */
const DESCRIPTION_IDS = 'd-';

/**
 * A description's stored HTML; one written before body_html existed renders now (a placeholder when it cannot be)
 * and is stored for the next reader.
 */
export async function descriptionHtml(db: Db, saeId: string, index: number, revision: number, body: string, html: string | null): Promise<string> {
  if (html !== null) return html;
  const rendered = renderStoredOrPlaceholder(body, 'description', { hosts: siteHosts(), idPrefix: DESCRIPTION_IDS }).html;
  try {
    await db
      .update(featurePages)
      .set({ bodyHtml: rendered })
      .where(and(eq(featurePages.saeId, saeId), eq(featurePages.index, index), eq(featurePages.revision, revision)));
  } catch (err) {
    console.error('storing a rendered description failed:', err); // the next reader renders it again
  }
  return rendered;
}

/** The edit was based on a revision that is no longer the current one. */
export class EditConflict extends DomainError {
  constructor(readonly current: PageVersion) {
    super('conflict', `this page was changed (now revision ${current.revision}${current.updatedBy ? ` by ${current.updatedBy}` : ''}) since you started editing`);
  }
}

export interface FeatureEdit {
  saeId: string;
  index: number;
  label: string;
  body: string;
  summary: string;
  /** the revision the edit started from (0 for a page never edited) */
  baseRevision: number;
  authorId: string;
  /** this site's hosts, so pasted feature URLs in the description count as links (server/feature-links.ts) */
  hosts?: readonly string[];
  /**
   * the body is the page's current one, unchanged (a label chosen by vote): one stored before today's bounds is kept
   * with a placeholder rendering instead of refusing the edit
   */
  bodyUnchanged?: boolean;
  /** the label was chosen by votes (server/label-votes.ts), so the author's vote stays where it is */
  byVote?: boolean;
}

/** Serialises the label votes of one feature (a transaction-scoped advisory lock); take it before the page row. */
export async function lockLabelVotes(tx: Db, saeId: string, index: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`label-vote:${saeId}/${index}`}, 0))`);
}

/**
 * Applies an edit: appends revision baseRevision + 1 and makes it the page's state, in one transaction. Throws
 * EditConflict, changing nothing, when the page is no longer at baseRevision (someone else saved first).
 */
export async function editFeature(db: Db, edit: FeatureEdit): Promise<{ revision: number }> {
  const revision = edit.baseRevision + 1;
  // rendered (or refused, BAD_REQUEST, over the bounds of server/markdown.ts) before the transaction
  const renderOptions = { hosts: edit.hosts ?? siteHosts(), idPrefix: DESCRIPTION_IDS };
  const rendered: StoredRendering = edit.bodyUnchanged
    ? renderStoredOrPlaceholder(edit.body, 'description', renderOptions)
    : renderForWrite(edit.body, renderOptions);
  const values = { label: edit.label, body: edit.body, bodyHtml: rendered.html, revision, updatedBy: edit.authorId, updatedAt: new Date() };
  const applied = await db.transaction(async (tx) => {
    if (!edit.byVote) await lockLabelVotes(tx, edit.saeId, edit.index);
    // The conditional write is the check: only one of two edits based on the same revision can match it.
    const rows =
      edit.baseRevision === 0
        ? await tx
            .insert(featurePages)
            .values({ saeId: edit.saeId, index: edit.index, ...values })
            .onConflictDoUpdate({
              target: [featurePages.saeId, featurePages.index],
              set: values,
              setWhere: eq(featurePages.revision, 0),
            })
            .returning({ revision: featurePages.revision })
        : await tx
            .update(featurePages)
            .set(values)
            .where(and(eq(featurePages.saeId, edit.saeId), eq(featurePages.index, edit.index), eq(featurePages.revision, edit.baseRevision)))
            .returning({ revision: featurePages.revision });
    if (rows.length === 0) return false;
    await tx.insert(featureRevisions).values({
      saeId: edit.saeId,
      index: edit.index,
      revision,
      label: edit.label,
      body: edit.body,
      summary: edit.summary,
      authorId: edit.authorId,
    });
    const labelChanged = await announceEdit(tx, edit, revision);
    await syncFeatureLinks(tx, 'feature_page', `${edit.saeId}/${edit.index}`, rendered);
    if (edit.label) await addLabelProposal(tx, edit, labelChanged && !edit.byVote);
    return true;
  });
  if (!applied) throw new EditConflict(await currentPageVersion(db, edit.saeId, edit.index));
  return { revision };
}

/**
 * A label written directly joins the alternatives votes choose from (server/label-votes.ts). An edit that changes
 * the label also carries the editor's vote (moved from any other proposal): it counts as much as a vote, so a
 * single self-vote for another proposal cannot undo it.
 */
async function addLabelProposal(tx: Db, edit: FeatureEdit, withVote: boolean): Promise<void> {
  const feature = and(eq(labelProposals.saeId, edit.saeId), eq(labelProposals.index, edit.index));
  await tx.insert(labelProposals).values({ saeId: edit.saeId, index: edit.index, label: edit.label, authorId: edit.authorId }).onConflictDoNothing();
  if (!withVote) return;
  const [proposal] = await tx.select({ id: labelProposals.id }).from(labelProposals).where(and(feature, eq(labelProposals.label, edit.label)));
  await tx
    .insert(labelVotes)
    .values({ saeId: edit.saeId, index: edit.index, userId: edit.authorId, proposalId: proposal!.id })
    .onConflictDoUpdate({ target: [labelVotes.saeId, labelVotes.index, labelVotes.userId], set: { proposalId: proposal!.id, createdAt: new Date() } });
}

/**
 * Live feature pages hear of every revision; the feature's watchers are notified when its label changed. Whether
 * it changed comes back.
 */
async function announceEdit(tx: Db, edit: FeatureEdit, revision: number): Promise<boolean> {
  await publish(tx, { topic: featureTopic(edit.saeId, edit.index), type: 'label', id: String(revision) });
  const [previous] = await tx
    .select({ label: featureRevisions.label })
    .from(featureRevisions)
    .where(and(eq(featureRevisions.saeId, edit.saeId), eq(featureRevisions.index, edit.index), eq(featureRevisions.revision, revision - 1)));
  if ((previous?.label ?? '') === edit.label) return false;
  await notifyFeatureWatchers(tx, edit.saeId, [edit.index], {
    kind: 'label',
    actorId: edit.authorId,
    summary: (address) => (edit.label ? `${address} is now labelled “${edit.label}”` : `The label of ${address} was removed`),
  });
  return true;
}
