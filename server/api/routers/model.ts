import { z } from 'zod';
import { listModels, listSaesByModel } from '../../models';
import { permissions } from '../../authz';
import { searchModel, searchOptionsInput } from '../../search-by-inference';
import { modelAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

export const modelRouter = createTRPCRouter({
  list: publicProcedure.query(async ({ ctx }) =>
    (await listModels(ctx.db, ctx.viewer)).map(({ path: _path, ...model }) => model),
  ),
  /** every SAE with its model's slug, for overviews */
  saes: publicProcedure.query(({ ctx }) => listSaesByModel(ctx.db, ctx.viewer)),
  bySlug: publicProcedure.input(z.object({ slug: z.string() })).query(async ({ ctx, input }) => {
    const { path: _path, level, ...model } = await modelAt(ctx.db, ctx.viewer, 'read', input.slug);
    return { ...model, can: permissions(level) };
  }),
  /**
   * Search by inference on every SAE of the model the viewer may compute on (at most MAX_SEARCHED_SAES): one
   * top-features job each, or the cached one.
   */
  topFeatures: protectedProcedure.input(searchOptionsInput.extend({ model: z.string() })).mutation(async ({ ctx, input }) => {
    const { model: slug, ...options } = input;
    const model = await modelAt(ctx.db, ctx.viewer, 'read', slug);
    return searchModel(ctx.db, ctx.viewer, model.id, options);
  }),
});
