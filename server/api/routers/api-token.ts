/** The signed-in account's personal access tokens for the REST API (its account page). */
import { z } from 'zod';
import { createApiToken, createTokenInput, listApiTokens, revokeApiToken } from '../../api-tokens';
import { createTRPCRouter, protectedProcedure } from '../trpc';

export const apiTokenRouter = createTRPCRouter({
  list: protectedProcedure.query(({ ctx }) => listApiTokens(ctx.db, ctx.viewer.id)),
  /** The answer holds the token itself: shown once, never stored. */
  create: protectedProcedure.input(createTokenInput).mutation(({ ctx, input }) => createApiToken(ctx.db, ctx.viewer.id, input)),
  revoke: protectedProcedure.input(z.object({ id: z.uuid('not a token id') })).mutation(async ({ ctx, input }) => {
    await revokeApiToken(ctx.db, ctx.viewer.id, input.id);
    return { id: input.id };
  }),
});
