/**
 * Label proposals and votes. Editors propose labels for a feature; signed-in users vote (one vote per user per
 * feature: voting again moves it, unvoting removes it); authors withdraw their proposals. The proposal with the most
 * votes is the winner (ties: the label shown now, then the earliest), and when a change of votes changes the winner,
 * the winner's text becomes the feature's label: a feature revision written through editFeature in the same
 * transaction, a `label` event and notifications to the feature's watchers. The revision says what happened: "Label
 * chosen by vote: …" by the voter, or "Label changed because Ada withdrew their vote: …" by the one who withdrew (they
 * did not choose the new label, and the page says so).
 *
 * A direct edit of the label (editFeature) adds the new label as a proposal by the editor carrying the editor's vote:
 * it is shown at once and is replaced only when a later change of votes makes another proposal lead. So one
 * self-vote for a rival proposal only ties it (and ties keep the shown label).
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { featurePages, labelProposals, labelVotes, type ProposalProvenance } from '@/drizzle/schema';
import type { Db } from './db';
import { badInput, forbidden } from './errors';
import { editFeature, lockLabelVotes } from './descriptions';
import { displayNameSql } from './users';

export interface Feature {
  saeId: string;
  index: number;
}

export interface LabelProposal {
  id: string;
  label: string;
  author: { id: string; name: string } | null;
  /** set for a proposal no person wrote (an automatic explanation, an import) */
  provenance: ProposalProvenance | null;
  createdAt: Date;
  votes: number;
  /** the viewer voted for it */
  mine: boolean;
  /** it is the feature's label now */
  shown: boolean;
}

export interface LabelStanding {
  proposals: LabelProposal[];
  /** the label shown now, and who set it (the author of the revision since which it has been the label) */
  label: string;
  labelBy: { id: string; name: string; at: Date; summary: string; how: LabelSetBy; /** a withdrawal: what they withdrew */ withdrew?: string } | null;
}

/** How the shown label came to be: an edit (or revert), a vote for it, or someone withdrawing a vote or proposal. */
export type LabelSetBy = 'edit' | 'vote' | 'withdrawal';

const VOTE_SUMMARY = 'Label chosen by vote: ';
const WITHDRAWAL_SUMMARY = 'Label changed because ';

/** Read from the revision's summary (the words changeVotes writes). */
export function labelSetBy(summary: string): LabelSetBy {
  if (summary.startsWith(VOTE_SUMMARY)) return 'vote';
  if (summary.startsWith(WITHDRAWAL_SUMMARY)) return 'withdrawal';
  return 'edit';
}

type StandingProposal = { id: string; label: string; author_id: string | null; author_name: string | null; provenance: ProposalProvenance | null; created_at: string; votes: number; mine: boolean };
type StandingSince = { label: string; author_id: string | null; author_name: string | null; created_at: string; summary: string };
/** What labelStandingSql reads: the proposals, and the revision since which the label has been what it is. */
export type StandingRow = { proposals: StandingProposal[]; since: StandingSince | null };

/** SQL: the feature's label standing as one JSON value (StandingRow; labelStandingOf reads it), for a statement of its own or the feature page's. */
export function labelStandingSql(saeId: string | SQL, index: number | SQL, viewerId: string | null): SQL {
  return sql`json_build_object(
      'proposals', (select coalesce(json_agg(x), '[]'::json) from (
         -- an imported proposal's kept explanation line is for exports, not for pages
         select p.id, p.label, p.author_id, ${displayNameSql()} as author_name, p.provenance - 'explanation' as provenance, p.created_at,
                count(v.user_id)::int as votes, coalesce(bool_or(v.user_id = ${viewerId}), false) as mine
           from label_proposal p
           left join label_vote v on v.proposal_id = p.id
           left join "user" u on u.id = p.author_id
           left join feature_page f on f.sae_id = p.sae_id and f.index = p.index
          where p.sae_id = ${saeId} and p.index = ${index}
          group by p.id, u.id, f.label
          order by votes desc, p.label is not distinct from f.label desc, p.created_at, p.id) x),
      -- the revision since which the label has been what it is: the first after the last one with another label
      'since', (select row_to_json(y) from (
         select p.label, r.author_id, ${displayNameSql()} as author_name, r.created_at, r.summary
           from feature_page p
           join feature_revision r on r.sae_id = p.sae_id and r.index = p.index
           left join "user" u on u.id = r.author_id
          where p.sae_id = ${saeId} and p.index = ${index}
            and r.revision > coalesce((select max(o.revision) from feature_revision o
                                        where o.sae_id = p.sae_id and o.index = p.index and o.label <> p.label), 0)
          order by r.revision
          limit 1) y))`;
}

/** The proposals for a feature in the order votes rank them (the winner first), with the shown label and who set it. */
export async function labelStanding(db: Db, saeId: string, index: number, viewerId: string | null): Promise<LabelStanding> {
  // one statement: the feature page folds the same SQL into its own read
  const { rows: [row] } = await db.execute<{ standing: StandingRow }>(sql`select ${labelStandingSql(saeId, index, viewerId)} as standing`);
  return labelStandingOf(row!.standing);
}

/** labelStandingSql's value as the page shows it. */
export function labelStandingOf({ proposals, since }: StandingRow): LabelStanding {
  const label = since?.label ?? '';
  return {
    proposals: proposals.map((r) => ({
      id: r.id,
      label: r.label,
      author: r.author_id ? { id: r.author_id, name: r.author_name ?? '' } : null,
      provenance: r.provenance,
      createdAt: new Date(r.created_at),
      votes: r.votes,
      mine: r.mine,
      shown: label !== '' && r.label === label,
    })),
    label,
    labelBy:
      since?.author_id
        ? {
            id: since.author_id,
            name: since.author_name ?? '',
            at: new Date(since.created_at),
            summary: since.summary,
            how: labelSetBy(since.summary),
            withdrew: /^Label changed because .+? withdrew (their vote|the proposal “.*”): /.exec(since.summary)?.[1],
          }
        : null,
  };
}

/** Adds a proposal (no votes yet); a label already proposed for this feature is refused. */
export async function proposeLabel(db: Db, feature: Feature, label: string, authorId: string): Promise<{ id: string }> {
  const text = label.trim();
  if (!text) throw badInput('the label is empty');
  const [row] = await db
    .insert(labelProposals)
    .values({ saeId: feature.saeId, index: feature.index, label: text, authorId })
    .onConflictDoNothing()
    .returning({ id: labelProposals.id });
  if (!row) throw badInput(`“${text}” is already proposed for this feature: vote for it instead`);
  return row;
}

/**
 * Adds a proposal no person wrote (an automatic explanation, an import), kept with where it came from. It carries no
 * vote, so it never changes the label shown: people choose by voting. Returns null when the same text is already
 * proposed for the feature.
 */
export async function proposeFromSource(db: Db, feature: Feature, label: string, provenance: ProposalProvenance): Promise<{ id: string } | null> {
  const [row] = await proposeManyFromSource(db, [{ ...feature, label, provenance }]);
  return row ?? null;
}

/** proposeFromSource for many proposals in one statement (an import); texts already proposed are skipped. Returns the added. */
export async function proposeManyFromSource(
  db: Db,
  proposals: (Feature & { label: string; provenance: ProposalProvenance })[],
): Promise<{ id: string }[]> {
  const rows = proposals.map((p) => ({ sae_id: p.saeId, index: p.index, label: p.label.trim(), provenance: p.provenance }));
  if (rows.some((r) => !r.label)) throw badInput('the label is empty');
  if (rows.length === 0) return [];
  // the rows as one JSON parameter: drizzle's multi-row insert, a parameter per field, cost an import of 24,576
  // explanations 2 CPU seconds of query building
  const { rows: added } = await db.execute<{ id: string }>(sql`
    insert into label_proposal (sae_id, index, label, provenance)
    select sae_id, index, label, provenance from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as p(sae_id uuid, index integer, label text, provenance jsonb)
    on conflict do nothing
    returning id`);
  return added;
}

type Winner = {
  id: string;
  label: string;
};

async function winner(db: Db, saeId: string, index: number): Promise<Winner | undefined> {
  const { rows } = await db.execute<Winner>(sql`
    select p.id, p.label
      from label_proposal p join label_vote v on v.proposal_id = p.id
      left join feature_page f on f.sae_id = p.sae_id and f.index = p.index
     where p.sae_id = ${saeId} and p.index = ${index}
     group by p.id, f.label
     order by count(*) desc, p.label is not distinct from f.label desc, p.created_at, p.id
     limit 1`);
  return rows[0];
}

export interface VoteResult {
  /** the label the vote made the shown one, when it changed it */
  labelChanged: string | null;
  revision: number | null;
}

/** Why the winner changed, as its revision's summary says it: `what` is the rest of the sentence after the name. */
type Reason = { kind: 'vote' } | { kind: 'withdrawal'; what: string };

/**
 * Runs a change of votes for one feature, serialised per feature (lockLabelVotes), and applies the winner when the
 * change moved it. Everything commits together or not at all.
 */
async function changeVotes(db: Db, feature: Feature, voterId: string, reason: Reason, change: (tx: Db) => Promise<void>): Promise<VoteResult> {
  return db.transaction(async (tx) => {
    await lockLabelVotes(tx, feature.saeId, feature.index);
    const before = await winner(tx, feature.saeId, feature.index);
    await change(tx);
    const after = await winner(tx, feature.saeId, feature.index);
    if (!after || after.id === before?.id) return { labelChanged: null, revision: null };
    // Lock the page so an edit cannot slip between reading its revision and writing the next one.
    const [page] = await tx
      .select({ label: featurePages.label, body: featurePages.body, revision: featurePages.revision })
      .from(featurePages)
      .where(and(eq(featurePages.saeId, feature.saeId), eq(featurePages.index, feature.index)))
      .for('update');
    if (page?.label === after.label) return { labelChanged: null, revision: null };
    const summary =
      reason.kind === 'vote' ? `${VOTE_SUMMARY}${after.label}` : `${WITHDRAWAL_SUMMARY}${await nameOf(tx, voterId)} ${reason.what}: ${after.label}`;
    // editFeature also publishes the `label` event and notifies the feature's watchers, in this transaction.
    const { revision } = await editFeature(tx, {
      saeId: feature.saeId,
      index: feature.index,
      label: after.label,
      body: page?.body ?? '',
      summary,
      baseRevision: page?.revision ?? 0,
      authorId: voterId,
      bodyUnchanged: true,
      byVote: true,
    });
    return { labelChanged: after.label, revision };
  });
}

/** The user's vote on this feature goes to `proposalId` (moved from any other proposal). */
export async function voteLabel(db: Db, feature: Feature, proposalId: string, userId: string): Promise<VoteResult> {
  return changeVotes(db, feature, userId, { kind: 'vote' }, async (tx) => {
    const [proposal] = await tx
      .select({ id: labelProposals.id })
      .from(labelProposals)
      .where(and(eq(labelProposals.id, proposalId), eq(labelProposals.saeId, feature.saeId), eq(labelProposals.index, feature.index)));
    if (!proposal) throw badInput('no such label proposal for this feature');
    await tx
      .insert(labelVotes)
      .values({ saeId: feature.saeId, index: feature.index, userId, proposalId })
      .onConflictDoUpdate({ target: [labelVotes.saeId, labelVotes.index, labelVotes.userId], set: { proposalId, createdAt: new Date() } });
  });
}

/** Withdraws the user's vote on this feature (nothing happens when they had none). */
export async function unvoteLabel(db: Db, feature: Feature, userId: string): Promise<VoteResult> {
  return changeVotes(db, feature, userId, { kind: 'withdrawal', what: 'withdrew their vote' }, async (tx) => {
    await tx.delete(labelVotes).where(and(eq(labelVotes.saeId, feature.saeId), eq(labelVotes.index, feature.index), eq(labelVotes.userId, userId)));
  });
}

/**
 * The author withdraws their proposal, and its votes with it. When it was leading, the next proposal with votes
 * becomes the label; with none left the label stays as it is (an edit changes it).
 */
export async function withdrawProposal(db: Db, feature: Feature, proposalId: string, userId: string): Promise<VoteResult> {
  const [proposal] = await db
    .select({ label: labelProposals.label, authorId: labelProposals.authorId })
    .from(labelProposals)
    .where(and(eq(labelProposals.id, proposalId), eq(labelProposals.saeId, feature.saeId), eq(labelProposals.index, feature.index)));
  if (!proposal) throw badInput('no such label proposal for this feature');
  if (proposal.authorId !== userId) throw forbidden('only its author can withdraw a proposal');
  return changeVotes(db, feature, userId, { kind: 'withdrawal', what: `withdrew the proposal “${proposal.label}”` }, async (tx) => {
    await tx.delete(labelProposals).where(eq(labelProposals.id, proposalId));
  });
}

async function nameOf(tx: Db, userId: string): Promise<string> {
  const { rows } = await tx.execute<{ name: string }>(sql`select ${displayNameSql()} as name from "user" u where u.id = ${userId}`);
  return rows[0]?.name ?? 'someone';
}
