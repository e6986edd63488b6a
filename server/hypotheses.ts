/**
 * Hypotheses: a statement about one or more features of one model, with a markdown body, a status (open,
 * supported, refuted, inconclusive) whose every change is kept with who made it and why, votes, and evidence
 * (server/evidence.ts). A hypothesis is as visible as the least visible of its SAEs: lists and reads leave out
 * any hypothesis touching an SAE the viewer may not see. Writing one needs `edit` on every SAE it touches.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { hypotheses, hypothesisFeatures, hypothesisStatusChanges, hypothesisStatusEnum, hypothesisVotes, models } from '@/drizzle/schema';
import { formatFeatureAddress, hypothesisHref, parseFeatureAddress, type FeatureAddress } from './addresses';
import { levelOnAll, permissions, requireLevel, visibleSaeSql, type Action, type Level, type Viewer } from './authz';
import { decodeCursor, encodeCursor } from './cursor';
import { isUuid, withTransaction, type Db } from './db';
import { badInput, notFound, unauthenticated } from './errors';
import { featureTopic, hypothesisTopic, publish, type EventType } from './events';
import { renderForWrite, siteHosts, syncFeatureLinks } from './feature-links';
import { clip, MarkdownRefused, parseMarkdown, renderStoredOrPlaceholder, type StoredRendering } from './markdown';
import { notifyWatchers, watch } from './notifications';
import { renderMemo, viewerKey } from './render-memo';
import { displayNameSql } from './users';

export const HYPOTHESIS_STATUSES = hypothesisStatusEnum.enumValues;
export type HypothesisStatus = (typeof HYPOTHESIS_STATUSES)[number];

export const statementInput = z
  .string()
  .trim()
  .min(1, 'write the statement')
  .max(500, 'the statement is longer than 500 characters');
export const hypothesisBodyInput = z.string().max(100_000, 'the body is longer than 100000 characters');
/** Feature addresses as typed: model/sae/index, [[model/sae/index]] or a feature page URL. */
export const featureAddressesInput = z
  .array(z.string().trim().min(1).max(300))
  .min(1, 'name at least one feature')
  .max(50, 'a hypothesis is about at most 50 features');
export const statusNoteInput = z.string().trim().max(2000, 'the note is longer than 2000 characters');

/** A feature a hypothesis is about, resolved. */
export interface HypothesisFeature extends FeatureAddress {
  saeId: string;
  label: string | null;
}

interface ResolvedFeatures {
  modelId: string;
  features: HypothesisFeature[];
}

/**
 * Resolves feature addresses to SAE ids, checking each exists, is in range, is visible to the viewer, and that they
 * all belong to one model. Throws with the offending address named.
 */
export async function resolveFeatures(db: Db, viewer: Viewer, addresses: string[]): Promise<ResolvedFeatures> {
  const parsed = addresses.map((text) => {
    const address = parseFeatureAddress(text);
    if (!address) throw badInput(`"${text}" is not a feature address (model/sae/index)`);
    return address;
  });
  const pairs = [...new Set(parsed.map((a) => `${a.model}/${a.sae}`))];
  const { rows } = await db.execute<{ id: string; model_id: string; model: string; sae: string; d_sae: number; visible: boolean }>(sql`
    select s.id, s.model_id, m.slug as model, s.slug as sae, s.d_sae, ${visibleSaeSql(viewer, sql`s.id`)} as visible
      from sae s join model m on m.id = s.model_id
     where (m.slug || '/' || s.slug) in (select jsonb_array_elements_text(${JSON.stringify(pairs)}::jsonb))`);
  const byPair = new Map(rows.filter((r) => r.visible).map((r) => [`${r.model}/${r.sae}`, r]));
  const seen = new Set<string>();
  const features: HypothesisFeature[] = [];
  for (const a of parsed) {
    const sae = byPair.get(`${a.model}/${a.sae}`);
    if (!sae) throw notFound(`no SAE "${a.model}/${a.sae}" (in ${a.model}/${a.sae}/${a.index})`);
    if (a.index >= sae.d_sae)
      throw badInput(`feature ${a.model}/${a.sae}/${a.index} is out of range: this SAE has features 0..${sae.d_sae - 1}`);
    const key = `${sae.id}/${a.index}`;
    if (seen.has(key)) continue;
    seen.add(key);
    features.push({ ...a, saeId: sae.id, label: null });
  }
  const modelIds = new Set(features.map((f) => byPair.get(`${f.model}/${f.sae}`)!.model_id));
  if (modelIds.size > 1) {
    const slugs = [...new Set(features.map((f) => f.model))].join(', ');
    throw badInput(`a hypothesis is about features of one model; these are from ${slugs}`);
  }
  return { modelId: [...modelIds][0]!, features };
}

/** Throws unless the viewer may do `action` on every one of these SAEs. */
async function authorizeAll(db: Db, viewer: Viewer, action: Action, saeIds: string[]): Promise<void> {
  requireLevel(viewer, await levelOnAll(db, viewer, saeIds), action, 'hypothesis');
}

/** Publishes an event on the hypothesis's topic and on each of its features' topics. */
export async function publishHypothesisEvent(db: Db, id: string, type: EventType, features: { saeId: string; index: number }[], eventId = id) {
  await publish(db, { topic: hypothesisTopic(id), type, id: eventId });
  for (const f of features) await publish(db, { topic: featureTopic(f.saeId, f.index), type, id: eventId });
}

/**
 * The viewer's level on a hypothesis, the lowest over the SAEs it is about ('none' when it does not exist), and its
 * features (SAE ids and indices).
 */
export async function hypothesisAccess(db: Db, viewer: Viewer, id: string): Promise<{ level: Level; features: { saeId: string; index: number }[] }> {
  if (!isUuid(id)) return { level: 'none', features: [] };
  const features = await db
    .select({ saeId: hypothesisFeatures.saeId, index: hypothesisFeatures.index })
    .from(hypothesisFeatures)
    .where(eq(hypothesisFeatures.hypothesisId, id));
  return { level: await levelOnAll(db, viewer, features.map((f) => f.saeId)), features };
}

/** The hypothesis's features, or NOT_FOUND when it does not exist or the viewer may not `action` on all its SAEs. */
export async function hypothesisFeaturesFor(db: Db, viewer: Viewer, id: string, action: Action): Promise<{ saeId: string; index: number }[]> {
  const { level, features } = await hypothesisAccess(db, viewer, id);
  requireLevel(viewer, level, action, `hypothesis ${id}`);
  return features;
}

export interface NewHypothesis {
  statement: string;
  body?: string;
  features: string[];
}

export interface PreparedHypothesis {
  statement: string;
  body: string;
  modelId: string;
  features: HypothesisFeature[];
}

/** Validates a new hypothesis (text, features, the right to edit every SAE it touches) without writing anything. */
export async function prepareHypothesis(db: Db, viewer: Viewer, input: NewHypothesis): Promise<PreparedHypothesis> {
  if (!viewer) throw unauthenticated();
  const statement = statementInput.parse(input.statement);
  const body = hypothesisBodyInput.parse(input.body ?? '');
  const { modelId, features } = await resolveFeatures(db, viewer, featureAddressesInput.parse(input.features));
  await authorizeAll(db, viewer, 'edit', features.map((f) => f.saeId));
  return { statement, body, modelId, features };
}

/**
 * Writes a prepared hypothesis inside the caller's transaction: status open (the first entry of its history), watched
 * by its author, its text's feature links kept (`hosts`: this site's, for pasted feature URLs).
 */
export async function insertHypothesis(tx: Db, authorId: string, h: PreparedHypothesis, hosts?: readonly string[]): Promise<{ id: string }> {
  const rendered = renderBody(h.body, hosts);
  const [row] = await tx
    .insert(hypotheses)
    .values({ modelId: h.modelId, statement: h.statement, body: h.body, bodyHtml: rendered.html, authorId })
    .returning({ id: hypotheses.id });
  const id = row!.id;
  await tx.insert(hypothesisFeatures).values(h.features.map((f) => ({ hypothesisId: id, saeId: f.saeId, index: f.index })));
  await tx.insert(hypothesisStatusChanges).values({ hypothesisId: id, status: 'open', note: 'proposed', userId: authorId });
  await watch(tx, authorId, 'hypothesis', id);
  await syncFeatureLinks(tx, 'hypothesis', id, linkedFeatures(h.statement, rendered, hosts));
  await publishHypothesisEvent(tx, id, 'hypothesis', h.features);
  return { id };
}

export async function createHypothesis(db: Db, viewer: Viewer, input: NewHypothesis, hosts?: readonly string[]): Promise<{ id: string }> {
  const prepared = await prepareHypothesis(db, viewer, input);
  return withTransaction((tx) => insertHypothesis(tx, viewer!.id, prepared, hosts));
}

/** Footnote ids of a hypothesis's body (one per page). */
const BODY_IDS = 'h-';

/** The body rendered for storing (server/markdown.ts), refused (BAD_REQUEST) over the bounds. */
const renderBody = (body: string, hosts?: readonly string[]): StoredRendering => renderForWrite(body, { hosts: hosts ?? siteHosts(), idPrefix: BODY_IDS });

/** The hypothesis's feature links: those of its statement and of its body (backlinks read both). */
function linkedFeatures(statement: string, body: StoredRendering, hosts?: readonly string[]): { features: FeatureAddress[] } {
  const all = new Map<string, FeatureAddress>();
  let inStatement: FeatureAddress[] = [];
  try {
    inStatement = parseMarkdown(statement, hosts ?? siteHosts()).features;
  } catch (err) {
    // the statement is shown as text, never rendered: one over the markdown bounds just links nothing
    if (!(err instanceof MarkdownRefused)) throw err;
  }
  for (const f of [...inStatement, ...body.features]) all.set(formatFeatureAddress(f), f);
  return { features: [...all.values()] };
}

/** Rewrites the statement, body and (optionally) features; needs edit on every SAE before and after. */
export async function updateHypothesis(
  db: Db,
  viewer: Viewer,
  id: string,
  input: { statement: string; body: string; features?: string[] },
  hosts?: readonly string[],
): Promise<void> {
  const before = await hypothesisFeaturesFor(db, viewer, id, 'edit');
  const statement = statementInput.parse(input.statement);
  const body = hypothesisBodyInput.parse(input.body);
  const after = input.features ? await resolveFeatures(db, viewer, featureAddressesInput.parse(input.features)) : undefined;
  if (after) {
    await authorizeAll(db, viewer, 'edit', after.features.map((f) => f.saeId));
    const [row] = await db.select({ modelId: hypotheses.modelId }).from(hypotheses).where(eq(hypotheses.id, id));
    if (row && row.modelId !== after.modelId)
      throw badInput('the features must stay in the hypothesis’s model');
  }
  const rendered = renderBody(body, hosts);
  const links = linkedFeatures(statement, rendered, hosts);
  await withTransaction(async (tx) => {
    await tx.update(hypotheses).set({ statement, body, bodyHtml: rendered.html, updatedAt: new Date() }).where(eq(hypotheses.id, id));
    await syncFeatureLinks(tx, 'hypothesis', id, links);
    if (after) {
      await tx.delete(hypothesisFeatures).where(eq(hypothesisFeatures.hypothesisId, id));
      await tx.insert(hypothesisFeatures).values(after.features.map((f) => ({ hypothesisId: id, saeId: f.saeId, index: f.index })));
    }
    await publishHypothesisEvent(tx, id, 'hypothesis', [...before, ...(after?.features ?? [])]);
  });
}

/** Changes the status (kept in the history with the note); watchers are notified. */
export async function setHypothesisStatus(db: Db, viewer: Viewer, id: string, status: HypothesisStatus, note = ''): Promise<void> {
  const features = await hypothesisFeaturesFor(db, viewer, id, 'edit');
  const text = statusNoteInput.parse(note);
  await withTransaction(async (tx) => {
    const [row] = await tx
      .update(hypotheses)
      .set({ status, statusChangedBy: viewer!.id, statusChangedAt: new Date(), updatedAt: new Date() })
      .where(eq(hypotheses.id, id))
      .returning({ statement: hypotheses.statement });
    await tx.insert(hypothesisStatusChanges).values({ hypothesisId: id, status, note: text, userId: viewer!.id });
    await notifyWatchers(
      tx,
      { kind: 'hypothesis', targetId: id },
      { kind: 'hypothesis-status', actorId: viewer!.id, summary: `marked ${status}: ${clip(row!.statement, 120)}`, url: hypothesisHref(id) },
    );
    await publishHypothesisEvent(tx, id, 'hypothesis', features);
  });
}

/** +1 agrees, -1 disagrees, 0 takes the vote back: one vote per user. */
export async function voteOnHypothesis(db: Db, viewer: Viewer, id: string, value: -1 | 0 | 1): Promise<{ score: number; mine: number }> {
  const features = await hypothesisFeaturesFor(db, viewer, id, 'comment');
  const userId = viewer!.id;
  await withTransaction(async (tx) => {
    if (value === 0) await tx.delete(hypothesisVotes).where(and(eq(hypothesisVotes.hypothesisId, id), eq(hypothesisVotes.userId, userId)));
    else
      await tx
        .insert(hypothesisVotes)
        .values({ hypothesisId: id, userId, value })
        .onConflictDoUpdate({ target: [hypothesisVotes.hypothesisId, hypothesisVotes.userId], set: { value, createdAt: new Date() } });
    await publishHypothesisEvent(tx, id, 'hypothesis', features);
  });
  const [row] = await db
    .select({ score: sql<number>`coalesce(sum(${hypothesisVotes.value}), 0)::int` })
    .from(hypothesisVotes)
    .where(eq(hypothesisVotes.hypothesisId, id));
  return { score: row?.score ?? 0, mine: value };
}


// ---------------------------------------------------------------------------------------------------------------
// Reads

export interface HypothesisSummary {
  id: string;
  statement: string;
  status: HypothesisStatus;
  score: number;
  votes: number;
  evidence: number;
  authorId: string | null;
  authorName: string | null;
  createdAt: Date;
  statusChangedAt: Date | null;
  features: HypothesisFeature[];
}

export interface HypothesisFilter {
  status?: HypothesisStatus;
  /** a feature (model/sae/index) */
  feature?: FeatureAddress;
  /** an SAE (model/sae) */
  sae?: { model: string; sae: string };
  /** the author's user id */
  author?: string;
  /** the cursor (`next`) of the previous page: keyset by (created_at, id) descending */
  before?: string;
  limit?: number;
}

export interface HypothesisPage {
  rows: HypothesisSummary[];
  /** the cursor for the next (older) page, null on the last page */
  next: string | null;
}

/** The condition that keeps out hypotheses touching an SAE the viewer may not see. */
export function visibleHypothesisSql(viewer: Viewer, hypothesisId: SQL): SQL {
  return sql`not exists (select 1 from hypothesis_feature hv where hv.hypothesis_id = ${hypothesisId} and not ${visibleSaeSql(viewer, sql`hv.sae_id`)})`;
}

/** Hypotheses matching the filter, newest first, each with its features, votes and evidence count (one query). */
export async function listHypotheses(db: Db, viewer: Viewer, filter: HypothesisFilter = {}): Promise<HypothesisPage> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  const where: SQL[] = [visibleHypothesisSql(viewer, sql`h.id`)];
  if (filter.status) where.push(sql`h.status = ${filter.status}`);
  if (filter.author) where.push(sql`h.author_id = ${filter.author}`);
  if (filter.feature)
    where.push(sql`exists (select 1 from hypothesis_feature hf join sae s on s.id = hf.sae_id join model m on m.id = s.model_id
                            where hf.hypothesis_id = h.id and m.slug = ${filter.feature.model} and s.slug = ${filter.feature.sae}
                              and hf.index = ${filter.feature.index})`);
  if (filter.sae)
    where.push(sql`exists (select 1 from hypothesis_feature hf join sae s on s.id = hf.sae_id join model m on m.id = s.model_id
                            where hf.hypothesis_id = h.id and m.slug = ${filter.sae.model} and s.slug = ${filter.sae.sae})`);
  if (filter.before) {
    const { at, id } = decodeCursor(filter.before);
    where.push(sql`(h.created_at, h.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    ${summarySelect(viewer)}
     where ${sql.join(where, sql` and `)}
     order by h.created_at desc, h.id desc
     limit ${limit + 1}`);
  const last = rows[limit - 1];
  return {
    rows: rows.slice(0, limit).map(summaryOf),
    next: rows.length > limit && last ? encodeCursor(last.cursor_at as string, last.id as string) : null,
  };
}

/** The columns of a HypothesisSummary (summaryOf reads them), from hypothesis h and its author u; evidence counted as `viewer` sees it (listEvidence). */
const summarySelect = (viewer: Viewer) => sql`
    select h.id, h.statement, h.status, h.author_id, ${displayNameSql()} as author_name, h.created_at, h.created_at::text as cursor_at, h.status_changed_at,
           (select coalesce(sum(v.value), 0) from hypothesis_vote v where v.hypothesis_id = h.id)::int as score,
           (select count(*) from hypothesis_vote v where v.hypothesis_id = h.id)::int as votes,
           (select count(*) from evidence e where e.hypothesis_id = h.id and (e.sae_id is null or ${visibleSaeSql(viewer, sql`e.sae_id`)}))::int as evidence,
           (select json_agg(json_build_object('model', m.slug, 'sae', s.slug, 'index', hf.index, 'saeId', s.id,
                                              'label', nullif(p.label, '')) order by m.slug, s.slug, hf.index)
              from hypothesis_feature hf join sae s on s.id = hf.sae_id join model m on m.id = s.model_id
              left join feature_page p on p.sae_id = hf.sae_id and p.index = hf.index
             where hf.hypothesis_id = h.id) as features
      from hypothesis h left join "user" u on u.id = h.author_id`;

function summaryOf(r: Record<string, unknown>): HypothesisSummary {
  return {
    id: r.id as string,
    statement: r.statement as string,
    status: r.status as HypothesisStatus,
    score: r.score as number,
    votes: r.votes as number,
    evidence: r.evidence as number,
    authorId: r.author_id as string | null,
    authorName: r.author_name as string | null,
    createdAt: new Date(r.created_at as string),
    statusChangedAt: r.status_changed_at ? new Date(r.status_changed_at as string) : null,
    features: (r.features as HypothesisFeature[] | null) ?? [],
  };
}

export interface StatusChange {
  status: HypothesisStatus;
  note: string;
  userName: string | null;
  createdAt: Date;
}

export interface HypothesisView extends HypothesisSummary {
  /** markdown */
  body: string;
  /** the body's stored HTML (feature links neutral: the router puts in the viewer's chips) */
  html: string;
  modelSlug: string;
  statusChangedByName: string | null;
  updatedAt: Date;
  history: StatusChange[];
  /** the viewer's vote (0: none) */
  myVote: number;
  /** what the viewer may do here */
  can: { edit: boolean; vote: boolean; compute: boolean };
}

/** One hypothesis as its page shows it; NOT_FOUND when missing or touching an SAE the viewer may not see. */
export async function getHypothesis(db: Db, viewer: Viewer, id: string): Promise<HypothesisView> {
  const { level } = await hypothesisAccess(db, viewer, id);
  requireLevel(viewer, level, 'read', `hypothesis ${id}`);
  const may = permissions(level);
  const [[summary], [extra], history, mine] = await Promise.all([
    db
      .execute<Record<string, unknown>>(sql`${summarySelect(viewer)} where h.id = ${id}`)
      .then((r) => r.rows),
    db
      .select({ body: hypotheses.body, bodyHtml: hypotheses.bodyHtml, updatedAt: hypotheses.updatedAt, modelSlug: models.slug, changedBy: sql<string | null>`(select ${displayNameSql()} from "user" u where u.id = ${hypotheses.statusChangedBy})` })
      .from(hypotheses)
      .innerJoin(models, eq(models.id, hypotheses.modelId))
      .where(eq(hypotheses.id, id)),
    db.execute<{ status: HypothesisStatus; note: string; user_name: string | null; created_at: string }>(sql`
      select c.status, c.note, ${displayNameSql()} as user_name, c.created_at
        from hypothesis_status_change c left join "user" u on u.id = c.user_id
       where c.hypothesis_id = ${id} order by c.created_at, c.id`),
    viewer
      ? db
          .select({ value: hypothesisVotes.value })
          .from(hypothesisVotes)
          .where(and(eq(hypothesisVotes.hypothesisId, id), eq(hypothesisVotes.userId, viewer.id)))
      : [],
  ]);
  return {
    ...summaryOf(summary!),
    body: extra!.body,
    html: extra!.bodyHtml ?? (await storeLegacyHtml(db, id, extra!.body)),
    modelSlug: extra!.modelSlug,
    statusChangedByName: extra!.changedBy,
    updatedAt: extra!.updatedAt,
    history: history.rows.map((r) => ({ status: r.status, note: r.note, userName: r.user_name, createdAt: new Date(r.created_at) })),
    myVote: mine[0]?.value ?? 0,
    can: { edit: may.edit, vote: may.comment, compute: may.compute },
  };
}

/** How many hypotheses the feature page's box lists: the latest. */
const FEATURE_HYPOTHESES = 100;

/**
 * SQL: the latest hypotheses about feature `index` of the SAE `saeId` that the viewer may see, summarySelect's rows
 * as a JSON array (featureHypothesesOf reads it). The feature page's statement carries it; hypothesesOfFeature sends
 * it alone.
 */
export function featureHypothesesSql(viewer: Viewer, saeId: string | SQL, index: number): SQL {
  return sql`(select coalesce(json_agg(fh order by fh.created_at desc, fh.id desc), '[]'::json) from (
    ${summarySelect(viewer)}
     where ${visibleHypothesisSql(viewer, sql`h.id`)}
       and exists (select 1 from hypothesis_feature hf where hf.hypothesis_id = h.id and hf.sae_id = ${saeId} and hf.index = ${index})
     order by h.created_at desc, h.id desc
     limit ${FEATURE_HYPOTHESES}) fh)`;
}

/** featureHypothesesSql's rows as the box lists them: open ones first. */
export function featureHypothesesOf(rows: Record<string, unknown>[]): HypothesisSummary[] {
  const order = (s: HypothesisStatus) => (s === 'open' ? 0 : 1);
  return rows.map(summaryOf).sort((a, b) => order(a.status) - order(b.status));
}

/** A feature's hypotheses read once per server render (the feature page's statement carries them). */
const hypothesesByFeature = renderMemo<HypothesisSummary[]>();

/** The hypotheses the feature page's statement read, for the rest of this render. */
export function rememberFeatureHypotheses(viewer: Viewer, address: FeatureAddress, list: HypothesisSummary[]): void {
  hypothesesByFeature.set(viewerKey(viewer, formatFeatureAddress(address)), list);
}

/** The visible hypotheses about one feature (the feature page's box), open ones first. */
export function hypothesesOfFeature(db: Db, viewer: Viewer, address: FeatureAddress): Promise<HypothesisSummary[]> {
  return hypothesesByFeature.get(viewerKey(viewer, formatFeatureAddress(address)), async () => {
    const saeId = sql`(select s.id from sae s join model m on m.id = s.model_id where m.slug = ${address.model} and s.slug = ${address.sae})`;
    const { rows: [row] } = await db.execute<{ list: Record<string, unknown>[] }>(sql`select ${featureHypothesesSql(viewer, saeId, address.index)} as list`);
    return featureHypothesesOf(row!.list);
  });
}

/** Renders a body stored before body_html existed (a placeholder when it cannot be) and stores it; best effort. */
async function storeLegacyHtml(db: Db, id: string, body: string): Promise<string> {
  const { html } = renderStoredOrPlaceholder(body, 'hypothesis', { hosts: siteHosts(), idPrefix: BODY_IDS });
  await db
    .update(hypotheses)
    .set({ bodyHtml: html })
    .where(and(eq(hypotheses.id, id), eq(hypotheses.body, body)))
    .catch((err) => console.error('storing a rendered hypothesis failed:', err));
  return html;
}
