import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { getModelBySlug, listModels, listSaesByModel } from '../../models';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const modelRouter = createTRPCRouter({
  list: publicProcedure.query(async ({ ctx }) =>
    (await listModels(ctx.db)).map(({ path: _path, ...model }) => model),
  ),
  /** every SAE with its model's slug, for overviews */
  saes: publicProcedure.query(({ ctx }) => listSaesByModel(ctx.db)),
  bySlug: publicProcedure.input(z.object({ slug: z.string() })).query(async ({ ctx, input }) => {
    const model = await getModelBySlug(ctx.db, input.slug);
    if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no model "${input.slug}"` });
    const { path: _path, ...rest } = model;
    return rest;
  }),
});
