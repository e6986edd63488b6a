/**
 * Who may do what: the one place that decides. Everything else asks here, either for a yes/no on one resource
 * (`authorize`) or for a SQL condition that keeps invisible rows out of a query (`visibleModelSql`, `visibleSaeSql`).
 *
 * A model or an SAE is public with no team unless a resource_access row says otherwise. The level a user has on
 * one resource:
 *   - site admins: maintainer, everywhere;
 *   - private: its owner is maintainer, nobody else sees it;
 *   - team-owned: members have their team role; others see it only when it is public (reader when anonymous,
 *     viewer when signed in), else nothing;
 *   - public with no team: the site role (viewer or editor); anonymous visitors read.
 * An SAE's level is the lower of its own and its model's (of those with a row). Invisible things answer NOT_FOUND,
 * never FORBIDDEN, so that nobody learns they exist. Site-wide administration (`authorizeAdmin`) and things one
 * account owns (`authorizeOwner`: lists, jobs) are decided here too; `authorizeSite` is what roleProcedure asks.
 */
import { forbidden, notFound, unauthenticated } from './errors';
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { AnyColumn } from 'drizzle-orm';
import { resourceAccess, saes, users } from '@/drizzle/schema';
import type { Db } from './db';
import { renderMemo, viewerKey } from './render-memo';
import type { Role } from './users';

/** The signed-in user as authorisation sees them (null: an anonymous visitor). */
export type Viewer = { id: string; role: Role } | null;

export const LEVELS = ['none', 'read', 'viewer', 'editor', 'maintainer'] as const;
export type Level = (typeof LEVELS)[number];

export type Action = 'read' | 'comment' | 'compute' | 'edit' | 'moderate' | 'manage';

/** The least level each action needs (comment also covers voting and watching; edit covers wiki edits,
 * label proposals, hypotheses and their evidence, and recomputing dashboards). */
export const ACTION_NEEDS: Record<Action, Level> = {
  read: 'read',
  comment: 'viewer',
  compute: 'viewer',
  edit: 'editor',
  moderate: 'maintainer',
  manage: 'maintainer',
};

const rank = (level: Level) => LEVELS.indexOf(level);
export const atLeast = (level: Level, needed: Level) => rank(level) >= rank(needed);
const lower = (a: Level, b: Level): Level => (rank(a) <= rank(b) ? a : b);
/** The lowest of several levels (of a thing that is about several resources, like a hypothesis); none of none. */
export const lowest = (levels: Level[]): Level => (levels.length === 0 ? 'none' : levels.reduce(lower));

export function viewerOf(session: { user?: { id: string; role: Role } } | null | undefined): Viewer {
  return session?.user ? { id: session.user.id, role: session.user.role } : null;
}

type AccessRow = typeof resourceAccess.$inferSelect;

/** The level `viewer` has on a resource with this access row (undefined: public, no team). */
export function levelFor(viewer: Viewer, row: Pick<AccessRow, 'teamId' | 'ownerId' | 'visibility'> | undefined, teamRoles: Map<string, Level>): Level {
  if (viewer?.role === 'admin') return 'maintainer';
  const siteLevel: Level = viewer ? (viewer.role === 'editor' ? 'editor' : 'viewer') : 'read';
  if (!row || (row.visibility === 'public' && !row.teamId)) return siteLevel;
  if (row.visibility === 'private') return viewer && row.ownerId === viewer.id ? 'maintainer' : 'none';
  const member = row.teamId ? teamRoles.get(row.teamId) : undefined;
  if (member) return member;
  if (row.visibility === 'public') return viewer ? 'viewer' : 'read';
  return 'none';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Target = { model: string } | { sae: string } | { team: string };

/** One resource_access row as levelOn reads it (a left join: visibility null when there is none), with the
 * viewer's role in its team. */
const ACCESS_COLUMNS = (alias: 's' | 'm', userId: string | null) => sql`
  ${sql.raw(alias)}.team_id as ${sql.raw(`${alias}_team`)}, ${sql.raw(alias)}.owner_id as ${sql.raw(`${alias}_owner`)},
  ${sql.raw(alias)}.visibility::text as ${sql.raw(`${alias}_visibility`)},
  (select role::text from team_member tm where tm.team_id = ${sql.raw(alias)}.team_id and tm.user_id = ${userId}) as ${sql.raw(`${alias}_role`)}`;

function levelFromColumns(viewer: Viewer, alias: 's' | 'm', r: Record<string, unknown>): Level | undefined {
  const visibility = r[`${alias}_visibility`] as AccessRow['visibility'] | null;
  if (!visibility) return undefined;
  const teamId = r[`${alias}_team`] as string | null;
  const role = r[`${alias}_role`] as Level | null;
  const roles = new Map<string, Level>(teamId && role ? [[teamId, role]] : []);
  return levelFor(viewer, { teamId, ownerId: r[`${alias}_owner`] as string | null, visibility }, roles);
}

/**
 * The viewer's level on a model, an SAE or a team (by id); 'none' for ids that do not exist. One query.
 * An SAE's level is the lower of its own and its model's, counting only those with an access row: an SAE without
 * one takes its model's, and a team-owned SAE of a public model is its team's.
 * On a team, its members have their team role and everyone else reads (teams and their members are public).
 */
export async function levelOn(db: Db, viewer: Viewer, target: Target): Promise<Level> {
  const [kind, id] = 'sae' in target ? (['sae', target.sae] as const) : 'model' in target ? (['model', target.model] as const) : (['team', target.team] as const);
  return levelOnId(db, viewer, kind, id);
}

/**
 * levels read once per server render: a page's sections each check the reader's access to the same SAE, and one
 * request sees one state (outside a render, as in API calls, every call reads).
 */
const levels = renderMemo<Level>();

/** A level read by a broader statement (saeAccessSql in the feature page's), for the rest of this render. */
export function rememberSaeLevel(viewer: Viewer, saeId: string, level: Level): void {
  levels.set(viewerKey(viewer, 'sae', saeId), level);
}

function levelOnId(db: Db, viewer: Viewer, kind: 'sae' | 'model' | 'team', id: string): Promise<Level> {
  return levels.get(viewerKey(viewer, kind, id), () => readLevel(db, viewer, kind, id));
}

/**
 * SQL: one row, the access rows of the SAE `saeId` and of its model with the viewer's roles in their teams, or none
 * when there is no such SAE (saeLevelOf reads it).
 */
export function saeAccessSql(viewer: Viewer, saeId: string | SQL): SQL {
  const userId = viewer?.id ?? null;
  return sql`select ${ACCESS_COLUMNS('s', userId)}, ${ACCESS_COLUMNS('m', userId)} from sae
              left join resource_access s on s.kind = 'sae' and s.resource_id = sae.id
              left join resource_access m on m.kind = 'model' and m.resource_id = sae.model_id
             where sae.id = ${saeId}`;
}

/** The viewer's level on an SAE from saeAccessSql's row ('none' without one). */
export function saeLevelOf(viewer: Viewer, row: Record<string, unknown> | null | undefined): Level {
  if (!row) return 'none';
  const levels = (['s', 'm'] as const).map((alias) => levelFromColumns(viewer, alias, row)).filter((l): l is Level => l !== undefined);
  return levels.length === 0 ? levelFor(viewer, undefined, new Map()) : levels.reduce(lower);
}

async function readLevel(db: Db, viewer: Viewer, kind: 'sae' | 'model' | 'team', id: string): Promise<Level> {
  if (!UUID.test(id)) return 'none';
  const userId = viewer?.id ?? null;
  if (kind === 'team') {
    const { rows } = await db.execute<{ role: Level | null }>(sql`
      select (select role::text from team_member where team_id = t.id and user_id = ${userId}) as role from team t where t.id = ${id}`);
    if (!rows[0]) return 'none';
    if (viewer?.role === 'admin') return 'maintainer';
    return rows[0].role ?? (viewer ? 'viewer' : 'read');
  }
  if (kind === 'sae') return saeLevelOf(viewer, (await db.execute<Record<string, unknown>>(saeAccessSql(viewer, id))).rows[0]);
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select ${ACCESS_COLUMNS('m', userId)} from model
      left join resource_access m on m.kind = 'model' and m.resource_id = model.id
     where model.id = ${id}`);
  const row = rows[0];
  if (!row) return 'none';
  return levelFromColumns(viewer, 'm', row) ?? levelFor(viewer, undefined, new Map());
}

/** The viewer's lowest level over these SAEs: what they may do with something about all of them (a hypothesis). */
export async function levelOnAll(db: Db, viewer: Viewer, saeIds: string[]): Promise<Level> {
  const levels: Level[] = [];
  for (const id of new Set(saeIds)) levels.push(await levelOn(db, viewer, { sae: id }));
  return lowest(levels);
}

/**
 * The viewer as they are now (role and disabled re-read from the database): for decisions made long after the
 * request began, as a live stream's on each event. Null for anonymous visitors and for accounts disabled or gone.
 */
export async function currentViewer(db: Db, viewer: Viewer): Promise<Viewer> {
  if (!viewer) return null;
  const [row] = await db.select({ role: users.role, disabled: users.disabled }).from(users).where(eq(users.id, viewer.id));
  return row && !row.disabled ? { id: viewer.id, role: row.role } : null;
}

/** What a job is for, as authorisation sees it. */
export interface JobAccessRow {
  userId: string | null;
  modelId: string | null;
  params: unknown;
}

/**
 * Whether `viewer` sees a job's contents (its prompt and params, result, error, provenance and owner): its owner,
 * admins, and the maintainers of its SAE (of its model, for a job on no SAE). Anyone else who may see its model and
 * SAE learns at most that it exists (type, status, progress, times): server/jobs/index.ts `jobView`.
 */
export async function maySeeJobContents(db: Db, viewer: Viewer, job: JobAccessRow): Promise<boolean> {
  if (!viewer) return false;
  if (viewer.role === 'admin' || (job.userId !== null && job.userId === viewer.id)) return true;
  const saeId = (job.params as { saeId?: unknown } | null)?.saeId;
  if (typeof saeId === 'string') return permissions(await levelOn(db, viewer, { sae: saeId })).manage;
  if (job.modelId) return permissions(await levelOn(db, viewer, { model: job.modelId })).manage;
  return false;
}

/** Throws unless `viewer` may do `action` on the target. `what` names it in the not-found message. */
export async function authorize(db: Db, viewer: Viewer, action: Action, target: Target, what = 'that'): Promise<Level> {
  return requireLevel(viewer, await levelOn(db, viewer, target), action, what);
}

/** Throws unless `level` (the viewer's, found by the caller) allows `action`; the same answers as authorize. */
export function requireLevel(viewer: Viewer, level: Level, action: Action, what = 'that'): Level {
  if (level === 'none') throw notFound(`no ${what}`);
  const needed = ACTION_NEEDS[action];
  if (atLeast(level, needed)) return level;
  if (!viewer) throw unauthenticated();
  throw forbidden(`you need the ${needed} role here to ${action} this`);
}

/** What a level allows, for pages that show or hide controls (the server checks again on every mutation). */
export function permissions(level: Level): Record<Action, boolean> {
  return Object.fromEntries(Object.entries(ACTION_NEEDS).map(([action, needed]) => [action, atLeast(level, needed)])) as Record<Action, boolean>;
}

const SITE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** Site-wide actions that belong to no model or SAE (administration: admin; making lists: editor). */
export function authorizeSite(viewer: Viewer, role: Role): asserts viewer is NonNullable<Viewer> {
  if (!viewer) throw unauthenticated();
  if (SITE_RANK[viewer.role] < SITE_RANK[role]) throw forbidden(`this needs the ${role} role`);
}

/** Things that belong to one account (a list, a job): its owner or an admin. */
export function authorizeOwner(viewer: Viewer, ownerId: string | null, refusal: string): asserts viewer is NonNullable<Viewer> {
  if (!viewer) throw unauthenticated();
  if (ownerId !== viewer.id && viewer.role !== 'admin') throw forbidden(refusal);
}

/**
 * SQL: the viewer may see an access row of this kind for `idColumn` (true when there is none). The subqueries use
 * aliases of their own (`vis_*`), so that a column of the caller's query (say "sae"."id") is never captured by them.
 */
function visibleSql(viewer: Viewer, kind: 'model' | 'sae', idColumn: AnyColumn | SQL): SQL {
  if (viewer?.role === 'admin') return sql`true`;
  const allowed = viewer
    ? sql`vis_ra.visibility = 'public'
          or (vis_ra.visibility = 'team' and vis_ra.team_id in (select vis_tm.team_id from team_member vis_tm where vis_tm.user_id = ${viewer.id}))
          or (vis_ra.visibility = 'private' and vis_ra.owner_id = ${viewer.id})`
    : sql`vis_ra.visibility = 'public'`;
  return sql`not exists (select 1 from resource_access vis_ra where vis_ra.kind = ${kind} and vis_ra.resource_id = ${idColumn} and not (${allowed}))`;
}

/** A WHERE condition: the model with id `modelId` is visible to the viewer. */
export function visibleModelSql(viewer: Viewer, modelId: AnyColumn | SQL): SQL {
  return visibleSql(viewer, 'model', modelId);
}

/** A WHERE condition: the SAE with id `saeId` and its model are visible to the viewer. */
export function visibleSaeSql(viewer: Viewer, saeId: AnyColumn | SQL): SQL {
  return sql`(${visibleSql(viewer, 'sae', saeId)} and ${visibleSql(viewer, 'model', sql`(select vis_sae.model_id from sae vis_sae where vis_sae.id = ${saeId})`)})`;
}

/** The ids among `saeIds` the viewer may see (for filtering results already fetched). */
export async function visibleSaeIds(db: Db, viewer: Viewer, saeIds: string[]): Promise<Set<string>> {
  if (saeIds.length === 0) return new Set();
  const rows = await db
    .select({ id: saes.id })
    .from(saes)
    .where(and(inArray(saes.id, [...new Set(saeIds)]), visibleSaeSql(viewer, saes.id)));
  return new Set(rows.map((r) => r.id));
}
