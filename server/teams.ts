/**
 * Teams and who owns what: teams with members (viewer, editor, maintainer), and the team and visibility of each
 * model and SAE (resource_access). What a member may do is decided in ./authz; this module changes the rows, each
 * change in one transaction with its audit row. A team always keeps at least one maintainer.
 *
 * Members join by invitation (inviteMember): a maintainer invites an email, and the answer is the same whether or not
 * an account has that email, so inviting does not tell who has an account here. The invitation waits, listed on the
 * team's page for its maintainers by email; the account with that email (an existing one, or one that signs up with
 * it later) sees it on /teams and accepts (it becomes a member with the invited role) or declines.
 */
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { resourceAccess, teamInvitations, teamMembers, teams, users } from '@/drizzle/schema';
import { authorize, visibleModelSql, visibleSaeSql, type Viewer } from './authz';
import { audit } from './audit';
import { withTransaction, type Db } from './db';
import { conflict, notFound, unauthenticated } from './errors';
import { displayNameSql } from './users';

export type TeamRole = (typeof teamMembers.$inferSelect)['role'];
export type Visibility = (typeof resourceAccess.$inferSelect)['visibility'];
export const TEAM_ROLES = ['viewer', 'editor', 'maintainer'] as const satisfies readonly TeamRole[];
export const VISIBILITIES = ['public', 'team', 'private'] as const satisfies readonly Visibility[];

export const teamInput = z.object({
  slug: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'the slug is 2 to 40 letters, digits or dashes, starting with a letter or digit'),
  name: z.string().trim().min(1, 'give the team a name').max(80, 'the name is longer than 80 characters'),
});

type Actor = NonNullable<Viewer>;

export async function createTeam(actor: Actor, input: z.input<typeof teamInput>): Promise<{ id: string; slug: string }> {
  const { slug, name } = teamInput.parse(input);
  return withTransaction(async (tx) => {
    const [team] = await tx.insert(teams).values({ slug, name }).onConflictDoNothing().returning();
    if (!team) throw conflict(`a team with the slug "${slug}" already exists`);
    await tx.insert(teamMembers).values({ teamId: team.id, userId: actor.id, role: 'maintainer' });
    await audit(tx, { actorId: actor.id, action: 'team.create', targetKind: 'team', targetId: team.id, detail: { slug, name, maintainer: actor.id } });
    return { id: team.id, slug };
  });
}

export interface TeamSummary {
  id: string;
  slug: string;
  name: string;
  members: number;
  /** the viewer's role in it, if a member */
  role: TeamRole | null;
}

/** Every team (teams and their members are public; what they own is not), the viewer's first. */
export async function listTeams(db: Db, viewer: Viewer): Promise<TeamSummary[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select * from (
      select t.id, t.slug, t.name, (select count(*) from team_member m where m.team_id = t.id)::int as members,
             (select m.role::text from team_member m where m.team_id = t.id and m.user_id = ${viewer?.id ?? null}) as role
        from team t) teams
     order by role is null, slug`);
  return rows.map((r) => ({ id: r.id as string, slug: r.slug as string, name: r.name as string, members: r.members as number, role: (r.role as TeamRole | null) ?? null }));
}

export interface TeamView {
  id: string;
  slug: string;
  name: string;
  createdAt: Date;
  members: { userId: string; name: string | null; handle: string; email: string | null; role: TeamRole; addedAt: Date }[];
  /** invitations not yet taken up: for the team's maintainers and admins only (else empty) */
  invitations: { email: string; role: TeamRole; invitedAt: Date }[];
  /** the team's models and SAEs that the viewer may see */
  models: { slug: string; visibility: Visibility }[];
  saes: { model: string; slug: string; visibility: Visibility }[];
}

export async function getTeam(db: Db, viewer: Viewer, slug: string): Promise<TeamView | undefined> {
  const team = await db.query.teams.findFirst({ where: eq(teams.slug, slug) });
  if (!team) return undefined;
  const [members, models, saes] = await Promise.all([
    db
      .select({ userId: teamMembers.userId, name: users.name, handle: users.handle, email: users.email, role: teamMembers.role, addedAt: teamMembers.addedAt })
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(eq(teamMembers.teamId, team.id))
      .orderBy(sql`${teamMembers.role} desc`, users.name),
    db.execute<{ slug: string; visibility: Visibility }>(sql`
      select m.slug, ra.visibility from resource_access ra join model m on m.id = ra.resource_id
       where ra.kind = 'model' and ra.team_id = ${team.id} and ${visibleModelSql(viewer, sql`m.id`)} order by m.slug`),
    db.execute<{ model: string; slug: string; visibility: Visibility }>(sql`
      select m.slug as model, s.slug, ra.visibility from resource_access ra join sae s on s.id = ra.resource_id join model m on m.id = s.model_id
       where ra.kind = 'sae' and ra.team_id = ${team.id} and ${visibleSaeSql(viewer, sql`s.id`)} order by m.slug, s.slug`),
  ]);
  // Email addresses are for the team's own members and admins.
  const insider = viewer?.role === 'admin' || members.some((m) => m.userId === viewer?.id);
  const manager = viewer?.role === 'admin' || members.some((m) => m.userId === viewer?.id && m.role === 'maintainer');
  const invitations = manager
    ? await db
        .select({ email: teamInvitations.email, role: teamInvitations.role, invitedAt: teamInvitations.createdAt })
        .from(teamInvitations)
        .where(eq(teamInvitations.teamId, team.id))
        .orderBy(teamInvitations.createdAt)
    : [];
  return {
    ...team,
    members: members.map((m) => ({ ...m, email: insider ? m.email : null })),
    invitations,
    models: models.rows,
    saes: saes.rows,
  };
}

/** Teams `viewer` maintains (all of them for admins): where they may put a model or an SAE. */
export async function teamsMaintainedBy(db: Db, viewer: Viewer): Promise<{ id: string; slug: string; name: string }[]> {
  if (!viewer) return [];
  if (viewer.role === 'admin') return db.select({ id: teams.id, slug: teams.slug, name: teams.name }).from(teams).orderBy(teams.slug);
  return db
    .select({ id: teams.id, slug: teams.slug, name: teams.name })
    .from(teams)
    .innerJoin(teamMembers, eq(teamMembers.teamId, teams.id))
    .where(and(eq(teamMembers.userId, viewer.id), eq(teamMembers.role, 'maintainer')))
    .orderBy(teams.slug);
}

/** The team, locked for the rest of the transaction, once `actor` may manage it (maintainers and admins). */
async function managedTeam(tx: Db, actor: Viewer, teamId: string): Promise<typeof teams.$inferSelect> {
  await authorize(tx, actor, 'manage', { team: teamId }, 'such team');
  const [team] = await tx.select().from(teams).where(eq(teams.id, teamId)).for('update');
  return team!;
}

async function memberRole(tx: Db, teamId: string, userId: string): Promise<TeamRole | undefined> {
  const [row] = await tx.select({ role: teamMembers.role }).from(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
  return row?.role;
}

/** Refuses a change that would leave the team without a maintainer (the team row is locked by the caller). */
async function keepAMaintainer(tx: Db, teamId: string, leaving: string): Promise<void> {
  const { rows } = await tx.execute<{ n: number }>(sql`
    select count(*)::int as n from team_member where team_id = ${teamId} and role = 'maintainer' and user_id <> ${leaving}`);
  if (rows[0]!.n === 0) throw conflict('a team needs a maintainer: make someone else maintainer first');
}

/**
 * Adds an account (by email) to the team with a role at once: for the command line and tests. The site invites
 * instead (inviteMember), which does not tell whether the email has an account.
 */
export async function addMember(actor: Viewer, teamId: string, email: string, role: TeamRole): Promise<{ userId: string }> {
  return withTransaction(async (tx) => {
    const team = await managedTeam(tx, actor, teamId);
    const user = await tx.query.users.findFirst({ where: eq(users.email, email.trim().toLowerCase()) });
    if (!user) throw notFound(`no account with the email ${email.trim()}`);
    const added = await tx.insert(teamMembers).values({ teamId, userId: user.id, role }).onConflictDoNothing().returning();
    if (added.length === 0) throw conflict(`${user.name ?? email} is already a member of ${team.slug}`);
    await audit(tx, { actorId: actor!.id, action: 'team.member.add', targetKind: 'team', targetId: teamId, detail: { user: user.id, name: user.name, after: role } });
    return { userId: user.id };
  });
}

export const inviteEmail = z.string().trim().toLowerCase().pipe(z.email('not a valid email address')).pipe(z.string().max(320));

/** What inviting answers: the same whether or not the email has an account. */
export interface Invited {
  email: string;
  role: TeamRole;
  message: string;
}

/**
 * Invites an email to the team with a role (inviting it again changes the role). The answer does not depend on
 * whether an account has the email; an email the team's members already have is refused (their emails are on the
 * team's page for its maintainers anyway).
 */
export async function inviteMember(actor: Viewer, teamId: string, rawEmail: string, role: TeamRole): Promise<Invited> {
  const email = inviteEmail.parse(rawEmail);
  return withTransaction(async (tx) => {
    const team = await managedTeam(tx, actor, teamId);
    const { rows } = await tx.execute<{ name: string | null }>(sql`
      select u.name from team_member m join "user" u on u.id = m.user_id where m.team_id = ${teamId} and u.email = ${email}`);
    if (rows.length > 0) throw conflict(`${rows[0]!.name ?? email} is already a member of ${team.slug}`);
    await tx
      .insert(teamInvitations)
      .values({ teamId, email, role, invitedBy: actor!.id })
      .onConflictDoUpdate({ target: [teamInvitations.teamId, teamInvitations.email], set: { role, invitedBy: actor!.id, createdAt: new Date() } });
    await audit(tx, { actorId: actor!.id, action: 'team.invite', targetKind: 'team', targetId: teamId, detail: { email, after: role } });
    return { email, role, message: `invited ${email} as ${role}: the account with that email, now or once it signs up, can join ${team.slug} from its Teams page` };
  });
}

/** A maintainer withdraws an invitation (nothing happens when there is none). */
export async function cancelInvitation(actor: Viewer, teamId: string, rawEmail: string): Promise<void> {
  const email = rawEmail.trim().toLowerCase();
  await withTransaction(async (tx) => {
    await managedTeam(tx, actor, teamId);
    const gone = await tx.delete(teamInvitations).where(and(eq(teamInvitations.teamId, teamId), eq(teamInvitations.email, email))).returning();
    if (gone.length > 0) await audit(tx, { actorId: actor!.id, action: 'team.invite.cancel', targetKind: 'team', targetId: teamId, detail: { email } });
  });
}

export interface Invitation {
  teamId: string;
  slug: string;
  name: string;
  role: TeamRole;
  invitedBy: string | null;
  invitedAt: Date;
}

async function emailOf(db: Db, viewer: NonNullable<Viewer>): Promise<string | null> {
  const [row] = await db.select({ email: users.email }).from(users).where(eq(users.id, viewer.id));
  return row?.email ?? null;
}

/** The invitations waiting for the viewer's email, newest first. */
export async function invitationsFor(db: Db, viewer: Viewer): Promise<Invitation[]> {
  if (!viewer) return [];
  const email = await emailOf(db, viewer);
  if (!email) return [];
  const { rows } = await db.execute<{ team_id: string; slug: string; name: string; role: TeamRole; invited_by: string | null; created_at: string }>(sql`
    select i.team_id, t.slug, t.name, i.role, (select ${displayNameSql()} from "user" u where u.id = i.invited_by) as invited_by, i.created_at
      from team_invitation i join team t on t.id = i.team_id
     where i.email = ${email} order by i.created_at desc`);
  return rows.map((r) => ({ teamId: r.team_id, slug: r.slug, name: r.name, role: r.role, invitedBy: r.invited_by, invitedAt: new Date(r.created_at) }));
}

/** The viewer takes up an invitation to their email: they become a member with its role. */
export async function acceptInvitation(viewer: Viewer, teamId: string): Promise<{ slug: string; role: TeamRole }> {
  if (!viewer) throw unauthenticated('sign in to join a team');
  return withTransaction(async (tx) => {
    const email = await emailOf(tx, viewer);
    const [invitation] = email
      ? await tx.delete(teamInvitations).where(and(eq(teamInvitations.teamId, teamId), eq(teamInvitations.email, email))).returning()
      : [];
    if (!invitation) throw notFound('no invitation to that team for your email');
    const [team] = await tx.select().from(teams).where(eq(teams.id, teamId)).for('update');
    const added = await tx.insert(teamMembers).values({ teamId, userId: viewer.id, role: invitation.role }).onConflictDoNothing().returning();
    if (added.length > 0) {
      const [me] = await tx.select({ name: users.name }).from(users).where(eq(users.id, viewer.id));
      await audit(tx, {
        actorId: viewer.id,
        action: 'team.member.add',
        targetKind: 'team',
        targetId: teamId,
        detail: { user: viewer.id, name: me?.name ?? null, after: invitation.role, invitedBy: invitation.invitedBy },
      });
    }
    return { slug: team!.slug, role: invitation.role };
  });
}

/** The viewer turns down an invitation to their email (nothing happens when there is none). */
export async function declineInvitation(viewer: Viewer, teamId: string): Promise<void> {
  if (!viewer) throw unauthenticated();
  await withTransaction(async (tx) => {
    const email = await emailOf(tx, viewer);
    if (email) await tx.delete(teamInvitations).where(and(eq(teamInvitations.teamId, teamId), eq(teamInvitations.email, email)));
  });
}

export async function setMemberRole(actor: Viewer, teamId: string, userId: string, role: TeamRole): Promise<void> {
  await withTransaction(async (tx) => {
    const team = await managedTeam(tx, actor, teamId);
    const before = await memberRole(tx, teamId, userId);
    if (!before) throw notFound(`that account is not a member of ${team.slug}`);
    if (before === role) return;
    if (before === 'maintainer') await keepAMaintainer(tx, teamId, userId);
    await tx.update(teamMembers).set({ role }).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
    await audit(tx, { actorId: actor!.id, action: 'team.member.role', targetKind: 'team', targetId: teamId, detail: { user: userId, before, after: role } });
  });
}

/** Removes a member: maintainers remove anyone, and every member may leave. */
export async function removeMember(actor: Viewer, teamId: string, userId: string): Promise<void> {
  await withTransaction(async (tx) => {
    const leaving = actor?.id === userId && (await memberRole(tx, teamId, userId)) !== undefined;
    const team = leaving
      ? (await tx.select().from(teams).where(eq(teams.id, teamId)).for('update'))[0]!
      : await managedTeam(tx, actor, teamId);
    const before = await memberRole(tx, teamId, userId);
    if (!before) throw notFound(`that account is not a member of ${team.slug}`);
    if (before === 'maintainer') await keepAMaintainer(tx, teamId, userId);
    await tx.delete(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
    await audit(tx, { actorId: actor!.id, action: 'team.member.remove', targetKind: 'team', targetId: teamId, detail: { user: userId, before } });
  });
}

// ---- who owns a model or an SAE ----------------------------------------------------------------------------------

export type ResourceKind = 'model' | 'sae';

export interface Access {
  team: { id: string; slug: string; name: string } | null;
  visibility: Visibility;
  ownerId: string | null;
}

/** The team and visibility of a model or an SAE (public, no team, when it has no access row). */
export async function accessOf(db: Db, kind: ResourceKind, id: string): Promise<Access> {
  const [row] = await db
    .select({ visibility: resourceAccess.visibility, ownerId: resourceAccess.ownerId, teamId: teams.id, slug: teams.slug, name: teams.name })
    .from(resourceAccess)
    .leftJoin(teams, eq(teams.id, resourceAccess.teamId))
    .where(and(eq(resourceAccess.kind, kind), eq(resourceAccess.resourceId, id)));
  if (!row) return { team: null, visibility: 'public', ownerId: null };
  return { team: row.teamId ? { id: row.teamId, slug: row.slug!, name: row.name! } : null, visibility: row.visibility, ownerId: row.ownerId };
}

export const accessInput = z
  .object({ teamId: z.string().uuid('not a team id').nullable(), visibility: z.enum(VISIBILITIES) })
  .refine((a) => a.visibility !== 'team' || a.teamId !== null, 'team visibility needs a team');

/**
 * Sets the team and visibility of a model or an SAE: those who manage it (its maintainers, admins), into a team they
 * maintain. Private makes `actor` its owner, the only one (with admins) who sees it. Public with no team removes the
 * access row.
 */
export async function setAccess(actor: Viewer, kind: ResourceKind, id: string, input: z.input<typeof accessInput>, what: string): Promise<Access> {
  const { teamId, visibility } = accessInput.parse(input);
  return withTransaction(async (tx) => {
    await authorize(tx, actor, 'manage', kind === 'sae' ? { sae: id } : { model: id }, what);
    // One change of this resource's access at a time: the row (or its absence) is read, then written.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.access'), hashtext(${`${kind}:${id}`}))`);
    const before = await accessOf(tx, kind, id);
    if (teamId && teamId !== before.team?.id) await authorize(tx, actor, 'manage', { team: teamId }, 'such team');
    if (teamId === null && visibility === 'public') {
      await tx.delete(resourceAccess).where(and(eq(resourceAccess.kind, kind), eq(resourceAccess.resourceId, id)));
    } else {
      const values = { teamId, visibility, ownerId: actor!.id, updatedAt: new Date() };
      await tx
        .insert(resourceAccess)
        .values({ kind, resourceId: id, ...values })
        .onConflictDoUpdate({ target: [resourceAccess.kind, resourceAccess.resourceId], set: values });
    }
    const after = await accessOf(tx, kind, id);
    const summary = (a: Access) => ({ team: a.team?.slug ?? null, visibility: a.visibility });
    await audit(tx, { actorId: actor!.id, action: 'access.set', targetKind: kind, targetId: id, detail: { what, before: summary(before), after: summary(after) } });
    return after;
  });
}
