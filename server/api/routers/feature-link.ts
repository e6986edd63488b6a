/** Feature links (server/feature-links.ts): a chip's hover preview and a feature's backlinks. */
import { featureAddressInput } from '../../address-inputs';
import { backlinks, featurePreview } from '../../feature-links';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const featureLinkRouter = createTRPCRouter({
  /** Label, density and the top activation around its peak (NOT_FOUND for features the viewer may not see). */
  preview: publicProcedure.input(featureAddressInput).query(({ ctx, input }) => featurePreview(ctx.db, ctx.viewer, input)),

  /** "Discussed in": the comments, hypotheses and feature pages linking to this feature that the viewer may read. */
  backlinks: publicProcedure.input(featureAddressInput).query(({ ctx, input }) => backlinks(ctx.db, ctx.viewer, input)),
});
