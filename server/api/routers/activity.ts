import { z } from 'zod';
import { activeJobs, recentEdits } from '../../activity';
import { createTRPCRouter, publicProcedure } from '../trpc';

const limit = z.object({ limit: z.number().int().min(1).max(100).optional() }).optional();

export const activityRouter = createTRPCRouter({
  /** Latest feature page edits across the wiki. */
  recent: publicProcedure.input(limit).query(({ ctx, input }) => recentEdits(ctx.db, ctx.viewer, input?.limit ?? 15)),
  /** Queued and running jobs. */
  jobs: publicProcedure.input(limit).query(({ ctx, input }) => activeJobs(ctx.db, ctx.viewer, input?.limit ?? 20)),
});
