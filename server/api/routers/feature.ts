import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { dashboardRuns } from '@/drizzle/schema';
import type { Db } from '../../db';
import {
  currentPageVersion,
  EditConflict,
  editFeature,
  findSae,
  getFeaturePage,
  resolveToken,
  vocabulary,
  type SaeAddress,
} from '../../features';
import { enqueueJob } from '../../jobs';
import { getQueue } from '../../jobs/queue';
import { tokenInput, type JobParams, type JobType } from '../../jobs/types';
import { renderMarkdown } from '../../markdown';
import { createTRPCRouter, protectedProcedure, publicProcedure, roleProcedure } from '../trpc';

const slug = z.string().min(1).max(200);
const address = z.object({ model: slug, sae: slug, index: z.number().int().min(0).max(2 ** 31 - 1) });

async function saeOrThrow(db: Db, input: { model: string; sae: string; index?: number }): Promise<SaeAddress> {
  const sae = await findSae(db, input.model, input.sae);
  if (!sae) throw new TRPCError({ code: 'NOT_FOUND', message: `no SAE "${input.model}/${input.sae}"` });
  if (input.index !== undefined && input.index >= sae.dSae)
    throw new TRPCError({ code: 'NOT_FOUND', message: `feature ${input.index} is out of range: this SAE has features 0..${sae.dSae - 1}` });
  return sae;
}

/** A prompt that is not just whitespace (the worker checks the token length against the model's context). */
const promptInput = tokenInput.refine((v) => v.text === undefined || v.text.trim() !== '', 'the text is empty');

async function enqueue<T extends JobType>(type: T, params: JobParams<T>, sae: SaeAddress, userId: string) {
  const job = await enqueueJob(await getQueue(), { type, params, userId, modelId: sae.modelId });
  return { id: job.id };
}

export const featureRouter = createTRPCRouter({
  /** Everything the feature page shows (one SQL round trip). */
  get: publicProcedure.input(address).query(async ({ ctx, input }) => {
    const page = await getFeaturePage(ctx.db, input.model, input.sae, input.index);
    if (!page) throw new TRPCError({ code: 'NOT_FOUND', message: `no feature ${input.model}/${input.sae}/${input.index}` });
    return page;
  }),

  /** The label and description as they stand now (after an edit conflict: the version to merge with). */
  current: publicProcedure.input(address).query(async ({ ctx, input }) => {
    const sae = await saeOrThrow(ctx.db, input);
    const version = await currentPageVersion(ctx.db, sae.saeId, input.index);
    return { ...version, html: renderMarkdown(version.body) };
  }),

  /** Markdown rendered as the page will show it (sanitised). */
  preview: protectedProcedure.input(z.object({ body: z.string().max(100_000) })).mutation(({ input }) => ({ html: renderMarkdown(input.body) })),

  /** Saves the label and description as a new revision; refused (CONFLICT) when the page moved past baseRevision. */
  edit: roleProcedure('editor')
    .input(
      address.extend({
        label: z.string().trim().max(200, 'the label is longer than 200 characters'),
        body: z.string().max(100_000, 'the description is longer than 100000 characters'),
        summary: z.string().trim().max(500, 'the summary is longer than 500 characters').default(''),
        baseRevision: z.number().int().min(0),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const sae = await saeOrThrow(ctx.db, input);
      try {
        return await editFeature(ctx.db, {
          saeId: sae.saeId,
          index: input.index,
          label: input.label,
          body: input.body,
          summary: input.summary,
          baseRevision: input.baseRevision,
          authorId: ctx.session.user.id,
        });
      } catch (err) {
        if (err instanceof EditConflict) throw new TRPCError({ code: 'CONFLICT', message: err.message, cause: err });
        throw err;
      }
    }),

  /** Test your text: this feature's activation (and the most active features) at every token. */
  activations: protectedProcedure
    .input(address.extend({ input: promptInput }))
    .mutation(async ({ ctx, input }) => {
      const sae = await saeOrThrow(ctx.db, input);
      return enqueue('activations', { saeId: sae.saeId, input: input.input, features: [input.index], topK: 5 }, sae, ctx.session.user.id);
    }),

  ablate: protectedProcedure
    .input(
      address.extend({
        input: promptInput,
        positions: z.array(z.number().int().nonnegative()).min(1).max(8192).optional(),
        mode: z.enum(['zero', 'clamp']).default('zero'),
        value: z.number().finite().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const sae = await saeOrThrow(ctx.db, input);
      if ((input.mode === 'clamp') !== (input.value !== undefined))
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'give a value to clamp to with mode clamp (and only then)' });
      const params = { saeId: sae.saeId, feature: input.index, input: input.input, positions: input.positions, mode: input.mode, value: input.value, top: 10 };
      return enqueue('ablate', params, sae, ctx.session.user.id);
    }),

  steer: protectedProcedure
    .input(
      address.extend({
        input: promptInput,
        coefficients: z
          .object({ from: z.number().finite().min(-1e4).max(1e4), to: z.number().finite().min(-1e4).max(1e4), steps: z.number().int().min(1).max(201) })
          .default({ from: -10, to: 10, steps: 21 }),
        /** a token id, or its piece as the page shows it */
        targetToken: z.string().max(200).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const sae = await saeOrThrow(ctx.db, input);
      let targetToken: number | undefined;
      if (input.targetToken !== undefined && input.targetToken !== '') {
        const pieces = await vocabulary(ctx.db, sae.modelId, sae.modelSlug, sae.modelContentHash);
        try {
          targetToken = resolveToken(pieces, input.targetToken, sae.vocabSize);
        } catch (err) {
          throw new TRPCError({ code: 'BAD_REQUEST', message: (err as Error).message });
        }
      }
      const params = { saeId: sae.saeId, feature: input.index, input: input.input, coefficients: input.coefficients, targetToken, top: 5 };
      return enqueue('steer', params, sae, ctx.session.user.id);
    }),

  /** Editors: recompute this feature's dashboard (over the current run's corpus) or just its logit weights. */
  recompute: roleProcedure('editor')
    .input(address.extend({ what: z.enum(['dashboard', 'logit-weights']) }))
    .mutation(async ({ ctx, input }) => {
      const sae = await saeOrThrow(ctx.db, input);
      if (input.what === 'logit-weights') {
        if (!sae.currentRunId)
          throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'this SAE has no dashboards yet: recompute the dashboard first' });
        return enqueue('logit-weights', { saeId: sae.saeId, features: [input.index], k: 10 }, sae, ctx.session.user.id);
      }
      // A subset run over an SAE without dashboards would become its only (one-feature) dashboards: refuse.
      const corpusId = sae.currentRunId ? await runCorpus(ctx.db, sae.currentRunId) : undefined;
      if (!corpusId)
        throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `${sae.modelSlug}/${sae.saeSlug} has no dashboards yet: compute them for the whole SAE first` });
      const params = { saeId: sae.saeId, corpusId, features: [input.index], ablateTopExamples: true, batchSize: 8, seed: 0 };
      return enqueue('dashboards', params, sae, ctx.session.user.id);
    }),
});

/** The corpus a dashboard run was computed over. */
async function runCorpus(db: Db, runId: string): Promise<string | undefined> {
  const [run] = await db.select({ corpusId: dashboardRuns.corpusId }).from(dashboardRuns).where(eq(dashboardRuns.id, runId));
  return run?.corpusId;
}
