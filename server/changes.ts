/**
 * Recent changes across the wiki and a user's contributions. A change is a feature revision: an edit, a revert, or a
 * label chosen by vote (votes that changed a label write a revision; votes that did not change anything are not
 * changes). Lists are newest first with keyset pagination on (created_at, id), and leave out every SAE the viewer may
 * not see (visibleSaeSql).
 */
import { sql, type SQL } from 'drizzle-orm';
import { visibleSaeSql, type Viewer } from './authz';
import { decodeCursor, encodeCursor } from './cursor';
import type { Db } from './db';
import { labelSetBy } from './label-votes';
import { displayNameSql, hasHandleSql, normaliseHandle } from './users';

export type ChangeKind = 'edit' | 'revert' | 'vote';

export interface Change {
  id: string;
  kind: ChangeKind;
  model: string;
  sae: string;
  index: number;
  revision: number;
  label: string;
  /** the label before this revision ('' for a first revision or an unlabelled page) */
  previousLabel: string;
  summary: string;
  author: { id: string; name: string } | null;
  at: Date;
}

export interface ChangeFilter {
  model?: string;
  sae?: string;
  /** an account id */
  userId?: string;
  /** or a handle (`@ada`, `AdaLovelace`: see hasHandleSql), which names at most one account */
  user?: string;
  /** the cursor of the last change of the previous page */
  after?: string;
  limit?: number;
}

export interface ChangePage {
  changes: Change[];
  /** the cursor for the next (older) page, null on the last page */
  next: string | null;
}

/** The summaries revert and vote write (server/revisions.ts, server/label-votes.ts) tell those changes apart. */
function kindOf(summary: string): ChangeKind {
  if (labelSetBy(summary) !== 'edit') return 'vote'; // a vote, or a withdrawn vote or proposal
  if (/^Reverted to revision \d+$/.test(summary)) return 'revert';
  return 'edit';
}

export async function recentChanges(db: Db, viewer: Viewer, filter: ChangeFilter = {}): Promise<ChangePage> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  const where: SQL[] = [visibleSaeSql(viewer, sql`r.sae_id`)];
  if (filter.model) where.push(sql`m.slug = ${filter.model}`);
  if (filter.sae) where.push(sql`s.slug = ${filter.sae}`);
  if (filter.userId) where.push(sql`r.author_id = ${filter.userId}`);
  if (filter.user) where.push(sql`(r.author_id = ${filter.user} or ${hasHandleSql('u', [normaliseHandle(filter.user)])})`);
  if (filter.after) {
    const { at, id } = decodeCursor(filter.after);
    where.push(sql`(r.created_at, r.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  const { rows } = await db.execute<{
    id: string;
    model: string;
    sae: string;
    index: number;
    revision: number;
    label: string;
    previous_label: string | null;
    summary: string;
    author_id: string | null;
    author_name: string | null;
    created_at: string;
    cursor_at: string;
  }>(sql`
    select r.id, m.slug as model, s.slug as sae, r.index, r.revision, r.label, prev.label as previous_label, r.summary,
           r.author_id, ${displayNameSql()} as author_name, r.created_at,
           r.created_at::text as cursor_at
      from feature_revision r
      join sae s on s.id = r.sae_id
      join model m on m.id = s.model_id
      left join "user" u on u.id = r.author_id
      left join feature_revision prev on prev.sae_id = r.sae_id and prev.index = r.index and prev.revision = r.revision - 1
     where ${sql.join(where, sql` and `)}
     order by r.created_at desc, r.id desc
     limit ${limit + 1}`);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    changes: page.map((r) => ({
      id: r.id,
      kind: kindOf(r.summary),
      model: r.model,
      sae: r.sae,
      index: r.index,
      revision: r.revision,
      label: r.label,
      previousLabel: r.previous_label ?? '',
      summary: r.summary,
      author: r.author_id ? { id: r.author_id, name: r.author_name ?? '' } : null,
      at: new Date(r.created_at),
    })),
    next: rows.length > limit && last ? encodeCursor(last.cursor_at, last.id) : null,
  };
}

export interface ProposalContribution {
  id: string;
  model: string;
  sae: string;
  index: number;
  label: string;
  votes: number;
  /** it is the feature's label now */
  shown: boolean;
  at: Date;
}

export interface Contributor {
  id: string;
  name: string;
  /** their @handle, what a mention names */
  handle: string;
  role: string;
  joined: Date;
  /** revisions in SAEs the viewer can see */
  revisions: number;
  proposals: number;
}

/** Who the user (an id, or an @handle) is and how much they contributed where the viewer can see; undefined for neither. */
export async function contributor(db: Db, viewer: Viewer, userId: string): Promise<Contributor | undefined> {
  const { rows } = await db.execute<{ id: string; name: string; role: string; created_at: string; handle: string; revisions: number; proposals: number }>(sql`
    select u.id, ${displayNameSql()} as name, u.handle, u.role, u.created_at,
           (select count(*)::int from feature_revision r where r.author_id = u.id and ${visibleSaeSql(viewer, sql`r.sae_id`)}) as revisions,
           (select count(*)::int from label_proposal p where p.author_id = u.id and ${visibleSaeSql(viewer, sql`p.sae_id`)}) as proposals
      from "user" u where u.id = ${userId} or u.handle = ${normaliseHandle(userId)} order by u.id = ${userId} desc limit 1`);
  const r = rows[0];
  return r && { id: r.id, name: r.name, handle: r.handle, role: r.role, joined: new Date(r.created_at), revisions: r.revisions, proposals: r.proposals };
}

/** The label proposals a user made, newest first, with their votes (latest 100, visible SAEs only). */
export async function proposalsBy(db: Db, viewer: Viewer, userId: string): Promise<ProposalContribution[]> {
  const { rows } = await db.execute<Omit<ProposalContribution, 'at'> & { created_at: string }>(sql`
    select p.id, m.slug as model, s.slug as sae, p.index, p.label, p.created_at,
           (select count(*)::int from label_vote v where v.proposal_id = p.id) as votes,
           coalesce(fp.label = p.label, false) as shown
      from label_proposal p
      join sae s on s.id = p.sae_id
      join model m on m.id = s.model_id
      left join feature_page fp on fp.sae_id = p.sae_id and fp.index = p.index
     where p.author_id = ${userId} and ${visibleSaeSql(viewer, sql`p.sae_id`)}
     order by p.created_at desc, p.id desc
     limit 100`);
  return rows.map(({ created_at, ...r }) => ({ ...r, at: new Date(created_at) }));
}
