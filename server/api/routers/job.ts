import { z } from 'zod';
import { authorizeOwner, levelOn, permissions } from '../../authz';
import { activeJobs, cancelJob, enqueueJob, getVisibleJob, jobView, latestJob, recentJobs } from '../../jobs';
import { getQueue } from '../../jobs/queue';
import { JOB_TYPES, type JobType } from '@/jobs';
import { tokenInput } from '@/jobs/types';
import { badInput, conflict, notFound } from '../../errors';
import { modelAt, saeAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

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
        throw badInput('the prompt is empty');
      const model = await modelAt(ctx.db, ctx.viewer, 'compute', input.model);
      const job = await enqueueJob(
        await getQueue(),
        { type: 'run', params: { modelId: model.id, input: input.input, top: input.top, generate: input.generate }, userId: ctx.viewer.id, modelId: model.id },
        { requestedBy: ctx.viewer },
      );
      return { id: job.id };
    }),

  /**
   * A job: in full for its owner, admins and the maintainers of its SAE (or model); anyone else who may see its model
   * and SAE gets only that it exists (type, status, progress, times; `redacted`), never its prompt, result or owner.
   */
  get: publicProcedure.input(z.object({ id: z.string().uuid() })).query(async ({ ctx, input }) => {
    const job = await getVisibleJob(ctx.db, ctx.viewer, input.id);
    if (!job) throw notFound(`no job ${input.id}`);
    return jobView(ctx.db, ctx.viewer, job);
  }),

  /** The model's newest runs, each shown as `get` shows it to this viewer. */
  recent: publicProcedure
    .input(z.object({ model: z.string(), limit: z.number().int().min(1).max(50).default(10) }))
    .query(async ({ ctx, input }) => {
      const model = await modelAt(ctx.db, ctx.viewer, 'read', input.model);
      return recentJobs(ctx.db, ctx.viewer, { modelId: model.id, type: 'run', limit: input.limit });
    }),

  /** The SAE's dashboards jobs still queued or running, newest first (the SAE page follows their progress). */
  dashboards: publicProcedure.input(z.object({ model: z.string(), sae: z.string() })).query(async ({ ctx, input }) => {
    const { modelId, saeId } = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
    const jobs = await recentJobs(ctx.db, ctx.viewer, { modelId, type: 'dashboards', saeId, limit: 5 });
    return jobs.filter((job) => job.status === 'queued' || job.status === 'running');
  }),

  /** Queued and running jobs (of one type), newest first: what the workers are busy with. */
  active: publicProcedure
    .input(z.object({ type: z.enum(JOB_TYPES as [JobType, ...JobType[]]).optional(), limit: z.number().int().min(1).max(50).default(10) }))
    .query(({ ctx, input }) => activeJobs(ctx.db, ctx.viewer, input)),

  /** The newest job of a type, whatever its status (the home page follows the demo with it). */
  latest: publicProcedure
    .input(z.object({ type: z.enum(JOB_TYPES as [JobType, ...JobType[]]) }))
    .query(async ({ ctx, input }) => (await latestJob(ctx.db, ctx.viewer, input.type)) ?? null),

  /**
   * Cancels a queued or running job: its owner, or a maintainer of its model (admins everywhere). A running job
   * stops at its next progress report.
   */
  cancel: protectedProcedure.input(z.object({ id: z.string().uuid() })).mutation(async ({ ctx, input }) => {
    const job = await getVisibleJob(ctx.db, ctx.viewer, input.id);
    if (!job) throw notFound(`no job ${input.id}`);
    const maintainer = job.modelId !== null && permissions(await levelOn(ctx.db, ctx.viewer, { model: job.modelId })).manage;
    if (!maintainer) authorizeOwner(ctx.viewer, job.userId, 'only the job’s owner or an admin (or a maintainer of its model) can cancel it');
    const cancelled = await cancelJob(ctx.db, input.id);
    if (!cancelled) throw conflict(`the job is already ${job.status === 'queued' || job.status === 'running' ? 'finishing' : job.status}`);
    return cancelled;
  }),
});
