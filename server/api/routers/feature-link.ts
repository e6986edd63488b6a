/** Feature links (server/feature-links.ts): a chip's hover preview and a feature's backlinks. */
import { z } from 'zod';
import { backlinks, featurePreview } from '../../feature-links';
import { createTRPCRouter, publicProcedure } from '../trpc';

const slug = z.string().min(1).max(200);
const address = z.object({ model: slug, sae: slug, index: z.number().int().min(0).max(2 ** 31 - 1) });

export const featureLinkRouter = createTRPCRouter({
  /** Label, density and the top activation around its peak (NOT_FOUND for features the viewer may not see). */
  preview: publicProcedure.input(address).query(({ ctx, input }) => featurePreview(ctx.db, ctx.viewer, input)),

  /** "Discussed in": the comments, hypotheses and feature pages linking to this feature that the viewer may read. */
  backlinks: publicProcedure.input(address).query(({ ctx, input }) => backlinks(ctx.db, ctx.viewer, input)),
});
