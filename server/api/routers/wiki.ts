/**
 * The wiki around a feature page: its history (revisions, word-level diffs, revert), label proposals and votes,
 * recent changes and user contributions. Every read of one feature and every mutation goes through featureAt
 * (server/visibility.ts); lists leave out SAEs the viewer may not see.
 */
import { z } from 'zod';
import { featureAddressInput, slugInput } from '../../address-inputs';
import { permissions, type Action, type Level, type Viewer } from '../../authz';
import { contributor, proposalsBy, recentChanges } from '../../changes';
import type { Db } from '../../db';
import { notFound } from '../../errors';
import { labelStanding, proposeLabel, unvoteLabel, voteLabel, withdrawProposal, type Feature } from '../../label-votes';
import { compareRevisions, featureHistory, revertFeature } from '../../revisions';
import { featureAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

type Ctx = { db: Db; viewer: Viewer };

const revision = z.number().int().min(1).max(2 ** 31 - 1);

/** The feature at the address, once the viewer may do `action` there (NOT_FOUND for what they cannot see). */
async function feature(ctx: Ctx, input: z.infer<typeof featureAddressInput>, action: Action): Promise<Feature & { level: Level }> {
  const { saeId, index, level } = await featureAt(ctx.db, ctx.viewer, action, input);
  return { saeId, index, level };
}

export const wikiRouter = createTRPCRouter({
  /** Every revision of the feature's label and description, newest first, and what the viewer may do here (revert: edit). */
  history: publicProcedure.input(featureAddressInput).query(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'read');
    return { revisions: await featureHistory(ctx.db, f.saeId, f.index), can: permissions(f.level) };
  }),

  /** Word-level diff of label and description between two revisions. */
  compare: publicProcedure.input(featureAddressInput.extend({ from: revision, to: revision })).query(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'read');
    return compareRevisions(ctx.db, f.saeId, f.index, input.from, input.to);
  }),

  /** Brings back a revision's text as a new revision; CONFLICT when the page moved past baseRevision. */
  revert: protectedProcedure.input(featureAddressInput.extend({ revision, baseRevision: z.number().int().min(0) })).mutation(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'edit');
    return revertFeature(ctx.db, { saeId: f.saeId, index: f.index, toRevision: input.revision, baseRevision: input.baseRevision, authorId: ctx.viewer.id });
  }),

  /** The label proposals with their votes, the shown label and who set it. */
  proposals: publicProcedure.input(featureAddressInput).query(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'read');
    return labelStanding(ctx.db, f.saeId, f.index, ctx.viewer?.id ?? null);
  }),

  propose: protectedProcedure
    .input(featureAddressInput.extend({ label: z.string().trim().min(1, 'the label is empty').max(200, 'the label is longer than 200 characters') }))
    .mutation(async ({ ctx, input }) => {
      const f = await feature(ctx, input, 'edit');
      return proposeLabel(ctx.db, f, input.label, ctx.viewer.id);
    }),

  /** One vote per user per feature: voting for another proposal moves it. */
  vote: protectedProcedure.input(featureAddressInput.extend({ proposalId: z.uuid('not a proposal id') })).mutation(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'comment');
    return voteLabel(ctx.db, f, input.proposalId, ctx.viewer.id);
  }),

  unvote: protectedProcedure.input(featureAddressInput).mutation(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'comment');
    return unvoteLabel(ctx.db, f, ctx.viewer.id);
  }),

  /** Its author withdraws a proposal (and the votes for it). */
  withdraw: protectedProcedure.input(featureAddressInput.extend({ proposalId: z.uuid('not a proposal id') })).mutation(async ({ ctx, input }) => {
    const f = await feature(ctx, input, 'comment');
    return withdrawProposal(ctx.db, f, input.proposalId, ctx.viewer.id);
  }),

  /** Recent changes across the wiki (what the viewer can see), filtered by model, SAE and author (an id or a handle). */
  changes: publicProcedure
    .input(
      z.object({
        model: slugInput.optional(),
        sae: slugInput.optional(),
        user: z.string().min(1).max(200).optional(),
        after: z.string().max(500).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => recentChanges(ctx.db, ctx.viewer, { model: input.model, sae: input.sae, user: input.user, after: input.after, limit: input.limit })),

  /** A user's page (by id or @handle): who they are, their revisions (paged) and their label proposals, in what the viewer can see. */
  contributions: publicProcedure
    .input(z.object({ user: z.string().min(1).max(200), after: z.string().max(500).optional() }))
    .query(async ({ ctx, input }) => {
      const who = await contributor(ctx.db, ctx.viewer, input.user);
      if (!who) throw notFound(`no user ${input.user}`);
      const [revisions, proposals] = await Promise.all([
        recentChanges(ctx.db, ctx.viewer, { userId: who.id, after: input.after }),
        proposalsBy(ctx.db, ctx.viewer, who.id),
      ]);
      return { user: who, revisions, proposals };
    }),
});
