import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { enqueueJob, getJob, recentJobs } from '../../jobs';
import { getQueue } from '../../jobs/queue';
import { tokenInput } from '../../jobs/types';
import { getModelBySlug } from '../../models';
import type { Db } from '../../db';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

async function modelOrThrow(db: Db, slug: string) {
  const model = await getModelBySlug(db, slug);
  if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no model "${slug}"` });
  return model;
}

export const jobRouter = createTRPCRouter({
  /** Run the model on a prompt: top next-token predictions per position, optionally a greedy continuation. */
  run: protectedProcedure
    .input(
      z.object({
        model: z.string(),
        input: tokenInput,
        top: z.number().int().min(1).max(50).default(5),
        generate: z.number().int().min(0).max(256).default(0),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (input.input.text !== undefined && input.input.text.trim() === '')
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'the prompt is empty' });
      const model = await modelOrThrow(ctx.db, input.model);
      const job = await enqueueJob(await getQueue(), {
        type: 'run',
        params: { modelId: model.id, input: input.input, top: input.top, generate: input.generate },
        userId: ctx.session.user.id,
        modelId: model.id,
      });
      return { id: job.id };
    }),

  get: publicProcedure.input(z.object({ id: z.string().uuid() })).query(async ({ ctx, input }) => {
    const job = await getJob(ctx.db, input.id);
    if (!job) throw new TRPCError({ code: 'NOT_FOUND', message: `no job ${input.id}` });
    return job;
  }),

  recent: publicProcedure
    .input(z.object({ model: z.string(), limit: z.number().int().min(1).max(50).default(10) }))
    .query(async ({ ctx, input }) => {
      const model = await modelOrThrow(ctx.db, input.model);
      return recentJobs(ctx.db, { modelId: model.id, type: 'run', limit: input.limit });
    }),
});
