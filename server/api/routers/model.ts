import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { getModelBySlug, listModels } from '../../models';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const modelRouter = createTRPCRouter({
  list: publicProcedure.query(async ({ ctx }) =>
    (await listModels(ctx.db)).map(({ path: _path, ...model }) => model),
  ),
  bySlug: publicProcedure.input(z.object({ slug: z.string() })).query(async ({ ctx, input }) => {
    const model = await getModelBySlug(ctx.db, input.slug);
    if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no model "${input.slug}"` });
    const { path: _path, ...rest } = model;
    return rest;
  }),
});
