import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { dashboardRuns } from '@/drizzle/schema';
import { featureAddressInput } from '../../address-inputs';
import { formatFeatureAddress } from '../../addresses';
import { permissions, rememberSaeLevel, requireLevel, type Viewer } from '../../authz';
import type { Db } from '../../db';
import { currentPageVersion, editFeature } from '../../descriptions';
import { badInput, notFound, notReady } from '../../errors';
import { getFeaturePage } from '../../feature-page';
import { enqueueExplain } from '../../explainer/jobs';
import { previewWithChips, rememberBacklinks, siteHosts, withChips } from '../../feature-links';
import { rememberFeatureHypotheses } from '../../hypotheses';
import { rememberFeatureThread } from '../../comments';
import { enqueueJob } from '../../jobs';
import { getQueue } from '../../jobs/queue';
import type { JobParams, JobType } from '@/jobs';
import { steerGenerate } from '@/jobs/kinds/steer-generate';
import { promptInput } from '@/jobs/types';
import { applyChips } from '../../markdown';
import { featureAt, rememberSae, type ResolvedSae } from '../../visibility';
import { resolveToken, vocabulary } from '../../vocabulary';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

/** Enqueues a job for the signed-in `user` (authorised before), counted against their rate limit. */
async function enqueue<T extends JobType>(user: NonNullable<Viewer>, type: T, params: JobParams<T>, sae: ResolvedSae) {
  const job = await enqueueJob(await getQueue(), { type, params, userId: user.id, modelId: sae.modelId }, { requestedBy: user });
  return { id: job.id };
}

export const featureRouter = createTRPCRouter({
  /** Everything the feature page shows (one SQL round trip, the reader's access to the SAE included). */
  get: publicProcedure
    .input(
      featureAddressInput.extend({
        // false: the quantile intervals without their examples (a page that shows them collapsed)
        intervalExamples: z.boolean().default(true),
        // true: the page's render, whose hypotheses, backlinks and comment thread the same statement reads
        discussion: z.boolean().default(false),
      }),
    )
    .query(async ({ ctx, input }) => {
      const what = `feature ${formatFeatureAddress(input)}`;
      const read = await getFeaturePage(ctx.db, input.model, input.sae, input.index, {
        intervalExamples: input.intervalExamples,
        discussion: input.discussion,
        viewer: ctx.viewer,
      });
      if (!read) throw notFound(`no ${what}`);
      const { discussion, ...page } = read;
      const level = requireLevel(ctx.viewer, page.level, 'read', what);
      // the page's other sections look the SAE and this access up again: they find them here
      rememberSae({
        modelId: page.model.id,
        modelSlug: page.model.slug,
        modelContentHash: page.model.contentHash,
        vocabSize: page.model.vocabSize,
        saeId: page.sae.id,
        saeSlug: page.sae.slug,
        dSae: page.sae.dSae,
        currentRunId: page.run?.id ?? null,
      });
      rememberSaeLevel(ctx.viewer, page.sae.id, level);
      if (discussion) {
        // and the hypotheses box, the backlinks and the comment thread find what they show
        const address = { model: page.model.slug, sae: page.sae.slug, index: page.index };
        rememberFeatureHypotheses(ctx.viewer, address, discussion.hypotheses);
        rememberBacklinks(ctx.viewer, address, discussion.backlinks);
        await rememberFeatureThread(ctx.db, ctx.viewer, { ...address, saeId: page.sae.id }, level, discussion.comments, siteHosts(ctx.headers));
      }
      // the description's feature links as chips with the labels this viewer may see
      const { storedHtml, ...description } = page.page;
      const [html] = await withChips(ctx.db, ctx.viewer, [storedHtml ?? description.html]);
      return { ...page, page: { ...description, html: html! }, can: permissions(level) };
    }),

  /** The label and description as they stand now (after an edit conflict: the version to merge with). */
  current: publicProcedure.input(featureAddressInput).query(async ({ ctx, input }) => {
    const sae = await featureAt(ctx.db, ctx.viewer, 'read', input);
    const version = await currentPageVersion(ctx.db, sae.saeId, input.index);
    return { ...version, html: applyChips(version.html) };
  }),

  /** Markdown rendered as the page will show it (sanitised); refused as a save would be. */
  preview: protectedProcedure.input(z.object({ body: z.string().max(100_000) })).mutation(async ({ ctx, input }) => {
    return { html: await previewWithChips(ctx.db, ctx.viewer, input.body, 'd-', siteHosts(ctx.headers)) };
  }),

  /** Saves the label and description as a new revision; refused (CONFLICT) when the page moved past baseRevision. */
  edit: protectedProcedure
    .input(
      featureAddressInput.extend({
        label: z.string().trim().max(200, 'the label is longer than 200 characters'),
        body: z.string().max(100_000, 'the description is longer than 100000 characters'),
        summary: z.string().trim().max(500, 'the summary is longer than 500 characters').default(''),
        baseRevision: z.number().int().min(0),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const sae = await featureAt(ctx.db, ctx.viewer, 'edit', input);
      return editFeature(ctx.db, {
        saeId: sae.saeId,
        index: input.index,
        label: input.label,
        body: input.body,
        summary: input.summary,
        baseRevision: input.baseRevision,
        authorId: ctx.viewer.id,
        hosts: siteHosts(ctx.headers),
      });
    }),

  /** Test your text: this feature's activation (and the most active features) at every token. */
  activations: protectedProcedure
    .input(featureAddressInput.extend({ input: promptInput }))
    .mutation(async ({ ctx, input }) => {
      const sae = await featureAt(ctx.db, ctx.viewer, 'compute', input);
      return enqueue(ctx.viewer, 'activations', { saeId: sae.saeId, input: input.input, features: [input.index], topK: 5 }, sae);
    }),

  ablate: protectedProcedure
    .input(
      featureAddressInput.extend({
        input: promptInput,
        positions: z.array(z.number().int().nonnegative()).min(1).max(8192).optional(),
        mode: z.enum(['zero', 'clamp']).default('zero'),
        value: z.number().finite().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const sae = await featureAt(ctx.db, ctx.viewer, 'compute', input);
      if ((input.mode === 'clamp') !== (input.value !== undefined))
        throw badInput('give a value to clamp to with mode clamp (and only then)');
      const params = { saeId: sae.saeId, feature: input.index, input: input.input, positions: input.positions, mode: input.mode, value: input.value, top: 10 };
      return enqueue(ctx.viewer, 'ablate', params, sae);
    }),

  steer: protectedProcedure
    .input(
      featureAddressInput.extend({
        input: promptInput,
        coefficients: z
          .object({ from: z.number().finite().min(-1e4).max(1e4), to: z.number().finite().min(-1e4).max(1e4), steps: z.number().int().min(1).max(201) })
          .default({ from: -10, to: 10, steps: 21 }),
        /** a token id, or its piece as the page shows it */
        targetToken: z.string().max(200).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const sae = await featureAt(ctx.db, ctx.viewer, 'compute', input);
      let targetToken: number | undefined;
      if (input.targetToken !== undefined && input.targetToken !== '') {
        const pieces = await vocabulary(ctx.db, sae.modelId, sae.modelSlug, sae.modelContentHash);
        targetToken = resolveToken(pieces, input.targetToken, sae.vocabSize);
      }
      const params = { saeId: sae.saeId, feature: input.index, input: input.input, coefficients: input.coefficients, targetToken, top: 5 };
      return enqueue(ctx.viewer, 'steer', params, sae);
    }),

  /** Steered generation: the text continued as the model would and steered along these features (the panel starts with this one). */
  steerGenerate: protectedProcedure
    .input(featureAddressInput.extend({ ...steerGenerate.params.omit({ saeId: true }).shape, input: promptInput }))
    .mutation(async ({ ctx, input }) => {
      const sae = await featureAt(ctx.db, ctx.viewer, 'compute', input);
      const { model: _model, sae: _sae, index: _index, ...params } = input;
      return enqueue(ctx.viewer, 'steer-generate', { saeId: sae.saeId, ...params }, sae);
    }),

  /**
   * Editors (of this SAE): recompute this feature's dashboard (over the current run's corpus) or just its logit weights,
   * with the final norm folded into W_U or not and BOS excluded from the examples or not.
   */
  /** Editors (of this SAE): a one-feature automatic explanation with the configured endpoint. */
  explain: protectedProcedure.input(featureAddressInput).mutation(async ({ ctx, input }) => {
    const sae = await featureAt(ctx.db, ctx.viewer, 'edit', input);
    return enqueueExplain(ctx.db, ctx.viewer, sae, [input.index]);
  }),

  recompute: protectedProcedure
    .input(featureAddressInput.extend({ what: z.enum(['dashboard', 'logit-weights']), foldLn: z.boolean().default(true), excludeBos: z.boolean().default(true) }))
    .mutation(async ({ ctx, input }) => {
      const sae = await featureAt(ctx.db, ctx.viewer, 'edit', input);
      if (input.what === 'logit-weights') {
        if (!sae.currentRunId)
          throw notReady('this SAE has no dashboards yet: recompute the dashboard first');
        return enqueue(ctx.viewer, 'logit-weights', { saeId: sae.saeId, features: [input.index], k: 10, foldLn: input.foldLn }, sae);
      }
      // A subset run over an SAE without dashboards would become its only (one-feature) dashboards: refuse.
      const corpusId = sae.currentRunId ? await runCorpus(ctx.db, sae.currentRunId) : undefined;
      if (!corpusId)
        throw notReady(`${sae.modelSlug}/${sae.saeSlug} has no dashboards yet: compute them for the whole SAE first`);
      const params = { saeId: sae.saeId, corpusId, features: [input.index], ablateTopExamples: true, foldLn: input.foldLn, excludeBos: input.excludeBos, randomExamples: 10, batchSize: 8, seed: 0 };
      return enqueue(ctx.viewer, 'dashboards', params, sae);
    }),
});

/** The corpus a dashboard run was computed over. */
async function runCorpus(db: Db, runId: string): Promise<string | undefined> {
  const [run] = await db.select({ corpusId: dashboardRuns.corpusId }).from(dashboardRuns).where(eq(dashboardRuns.id, runId));
  return run?.corpusId;
}
