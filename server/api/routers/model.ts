import { z } from 'zod';
import { listModels, listSaesByModel } from '../../models';
import { permissions } from '../../authz';
import { modelAt } from '../../visibility';
import { createTRPCRouter, publicProcedure } from '../trpc';

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
});
