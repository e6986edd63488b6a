import { z } from 'zod';
import { slugInput } from '../../address-inputs';
import { formatSaeAddress } from '../../addresses';
import { permissions, type Viewer } from '../../authz';
import type { Db } from '../../db';
import { notFound } from '../../errors';
import {
  acceptInvitation,
  accessInput,
  accessOf,
  cancelInvitation,
  createTeam,
  declineInvitation,
  invitationsFor,
  inviteMember,
  getTeam,
  listTeams,
  removeMember,
  setAccess,
  setMemberRole,
  TEAM_ROLES,
  teamInput,
  teamsMaintainedBy,
} from '../../teams';
import { modelAt, saeAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const teamId = z.string().uuid('not a team id');
const userId = z.string().min(1).max(100);
const role = z.enum(TEAM_ROLES);
/** a model (`model`), or an SAE (`model` and `sae`) */
const resource = z.object({ model: slugInput, sae: slugInput.optional() });

/** The model or SAE the input names, once the viewer may see it. */
async function resourceAt(db: Db, viewer: Viewer, input: z.infer<typeof resource>) {
  if (input.sae) {
    const sae = await saeAt(db, viewer, 'read', input.model, input.sae);
    return { kind: 'sae' as const, id: sae.saeId, level: sae.level, what: `SAE "${formatSaeAddress({ model: input.model, sae: input.sae })}"` };
  }
  const model = await modelAt(db, viewer, 'read', input.model);
  return { kind: 'model' as const, id: model.id, level: model.level, what: `model "${input.model}"` };
}

export const teamRouter = createTRPCRouter({
  /** Every team, the viewer's own first. */
  list: publicProcedure.query(({ ctx }) => listTeams(ctx.db, ctx.viewer)),

  /** A team's members and the models and SAEs it owns that the viewer may see. */
  get: publicProcedure.input(z.object({ slug: z.string().min(1).max(100) })).query(async ({ ctx, input }) => {
    const team = await getTeam(ctx.db, ctx.viewer, input.slug);
    if (!team) throw notFound(`no team "${input.slug}"`);
    return team;
  }),

  /** Teams the viewer may put a model or an SAE in (settings controls). */
  maintained: publicProcedure.query(({ ctx }) => teamsMaintainedBy(ctx.db, ctx.viewer)),

  /** Any signed-in account creates a team and becomes its maintainer. */
  create: protectedProcedure.input(teamInput).mutation(({ ctx, input }) => createTeam(ctx.viewer, input)),

  /**
   * Invites an email (server/teams.ts inviteMember): the same answer whether or not an account has it; the account
   * joins when it accepts.
   */
  invite: protectedProcedure
    .input(z.object({ teamId, email: z.string().trim().min(1, 'give an email to invite').max(320), role: role.default('viewer') }))
    .mutation(({ ctx, input }) => inviteMember(ctx.viewer, input.teamId, input.email, input.role)),

  /** Maintainers withdraw an invitation. */
  cancelInvitation: protectedProcedure
    .input(z.object({ teamId, email: z.string().trim().min(1).max(320) }))
    .mutation(({ ctx, input }) => cancelInvitation(ctx.viewer, input.teamId, input.email)),

  /** The invitations waiting for the signed-in account's email. */
  invitations: publicProcedure.query(({ ctx }) => invitationsFor(ctx.db, ctx.viewer)),

  /** The signed-in account joins a team it was invited to, or turns the invitation down. */
  acceptInvitation: protectedProcedure.input(z.object({ teamId })).mutation(({ ctx, input }) => acceptInvitation(ctx.viewer, input.teamId)),
  declineInvitation: protectedProcedure.input(z.object({ teamId })).mutation(({ ctx, input }) => declineInvitation(ctx.viewer, input.teamId)),

  setRole: protectedProcedure
    .input(z.object({ teamId, userId, role }))
    .mutation(({ ctx, input }) => setMemberRole(ctx.viewer, input.teamId, input.userId, input.role)),

  /** The team and visibility of a model or an SAE, with whether the viewer may change them. */
  access: publicProcedure.input(resource).query(async ({ ctx, input }) => {
    const target = await resourceAt(ctx.db, ctx.viewer, input);
    return { ...(await accessOf(ctx.db, target.kind, target.id)), canManage: permissions(target.level).manage };
  }),

  /** Moves a model or an SAE into a team (or out) and sets who sees it: its maintainers and admins. */
  setAccess: protectedProcedure.input(resource.and(accessInput)).mutation(async ({ ctx, input }) => {
    const target = await resourceAt(ctx.db, ctx.viewer, input);
    return setAccess(ctx.viewer, target.kind, target.id, input, target.what);
  }),

  /** Maintainers remove members; every member may leave. */
  removeMember: protectedProcedure.input(z.object({ teamId, userId })).mutation(({ ctx, input }) => removeMember(ctx.viewer, input.teamId, input.userId)),
});
