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
 * An SAE's level is the lower of its own and its model's. Invisible things answer NOT_FOUND, never FORBIDDEN,
 * so that nobody learns they exist.
 */
import { TRPCError } from '@trpc/server';
import { and, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { AnyColumn } from 'drizzle-orm';
import { resourceAccess, saes, teamMembers } from '@/drizzle/schema';
import type { Db } from './db';
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

async function teamRolesOf(db: Db, viewer: Viewer): Promise<Map<string, Level>> {
  if (!viewer) return new Map();
  const rows = await db.select({ teamId: teamMembers.teamId, role: teamMembers.role }).from(teamMembers).where(eq(teamMembers.userId, viewer.id));
  return new Map(rows.map((r) => [r.teamId, r.role]));
}

async function accessRows(db: Db, targets: { kind: 'model' | 'sae'; id: string }[]): Promise<Map<string, AccessRow>> {
  if (targets.length === 0) return new Map();
  const rows = await db
    .select()
    .from(resourceAccess)
    .where(or(...targets.map((t) => and(eq(resourceAccess.kind, t.kind), eq(resourceAccess.resourceId, t.id)))));
  return new Map(rows.map((r) => [`${r.kind}:${r.resourceId}`, r]));
}

export type Target = { model: string } | { sae: string };

/** The viewer's level on a model or an SAE (by id); 'none' for ids that do not exist. */
export async function levelOn(db: Db, viewer: Viewer, target: Target): Promise<Level> {
  let modelId: string;
  const keys: { kind: 'model' | 'sae'; id: string }[] = [];
  if ('sae' in target) {
    const [sae] = await db.select({ modelId: saes.modelId }).from(saes).where(eq(saes.id, target.sae));
    if (!sae) return 'none';
    modelId = sae.modelId;
    keys.push({ kind: 'sae', id: target.sae });
  } else {
    modelId = target.model;
  }
  keys.push({ kind: 'model', id: modelId });
  const [rows, roles] = await Promise.all([accessRows(db, keys), teamRolesOf(db, viewer)]);
  return keys.map((k) => levelFor(viewer, rows.get(`${k.kind}:${k.id}`), roles)).reduce(lower);
}

/** An answer that hides what the viewer may not see (NOT_FOUND) or says what they lack. */
export class AccessError extends TRPCError {}

/** Throws unless `viewer` may do `action` on the target. `what` names it in the not-found message. */
export async function authorize(db: Db, viewer: Viewer, action: Action, target: Target, what = 'that'): Promise<Level> {
  const level = await levelOn(db, viewer, target);
  if (level === 'none') throw new AccessError({ code: 'NOT_FOUND', message: `no ${what}` });
  const needed = ACTION_NEEDS[action];
  if (atLeast(level, needed)) return level;
  if (!viewer) throw new AccessError({ code: 'UNAUTHORIZED', message: 'sign in first' });
  throw new AccessError({ code: 'FORBIDDEN', message: `you need the ${needed} role here to ${action === 'edit' ? 'edit' : action} this` });
}

/** SQL: the viewer may see an access row of this kind for `idColumn` (true when there is no row). */
function visibleSql(viewer: Viewer, kind: 'model' | 'sae', idColumn: AnyColumn | SQL): SQL {
  if (viewer?.role === 'admin') return sql`true`;
  const allowed = viewer
    ? sql`ra.visibility = 'public'
          or (ra.visibility = 'team' and ra.team_id in (select team_id from team_member where user_id = ${viewer.id}))
          or (ra.visibility = 'private' and ra.owner_id = ${viewer.id})`
    : sql`ra.visibility = 'public'`;
  return sql`not exists (select 1 from resource_access ra where ra.kind = ${kind} and ra.resource_id = ${idColumn} and not (${allowed}))`;
}

/** A WHERE condition: the model with id `modelId` is visible to the viewer. */
export function visibleModelSql(viewer: Viewer, modelId: AnyColumn | SQL): SQL {
  return visibleSql(viewer, 'model', modelId);
}

/** A WHERE condition: the SAE with id `saeId` and its model are visible to the viewer. */
export function visibleSaeSql(viewer: Viewer, saeId: AnyColumn | SQL): SQL {
  return sql`(${visibleSql(viewer, 'sae', saeId)} and ${visibleSql(viewer, 'model', sql`(select model_id from sae where id = ${saeId})`)})`;
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
