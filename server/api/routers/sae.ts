import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { getModelBySlug } from '../../models';
import { listSaes } from '../../saes';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const saeRouter = createTRPCRouter({
  byModel: publicProcedure.input(z.object({ model: z.string() })).query(async ({ ctx, input }) => {
    const model = await getModelBySlug(ctx.db, input.model);
    if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no model "${input.model}"` });
    return (await listSaes(ctx.db, model.id)).map(({ path: _path, ...sae }) => sae);
  }),
});
