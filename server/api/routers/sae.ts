import { z } from 'zod';
import { defaultStart, labelQueue } from '../../labelling';
import { featureIndexInput, saeAddressInput, slugInput } from '../../address-inputs';
import { permissions, requireLevel, visibleSaeIds } from '../../authz';
import { dashboardRunsOf, setCurrentRun } from '../../dashboards';
import {
  DEFAULT_ULTRA_RARE_DENSITY,
  FEATURE_SORTS,
  featureTable,
  listSaes,
  parseCursor,
  saeOverview,
  saeSummaries,
  scatterPoints,
} from '../../saes';
import { badInput, forbidden, notFound } from '../../errors';
import { isUrl } from '../../exchange/neuronpedia-files';
import { featureCards, MAX_CARDS, saePieces } from '../../feature-cards';
import { enqueueJob } from '../../jobs';
import { getQueue } from '../../jobs/queue';
import { DASHBOARD_IMPORT_FORMATS } from '@/jobs/kinds/import';
import { searchOptionsInput, searchSae } from '../../search-by-inference';
import { enqueueExplain, explainerSummary, latestExplainJob } from '../../explainer/jobs';
import { explainFeatures } from '@/jobs/kinds/explain';
import { modelAt, saeAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

/** The feature table's query, as it appears in the page URL (so every view of the table has a stable link). */
export const featureTableInput = saeAddressInput.extend({
  sort: z.enum(FEATURE_SORTS).default('density'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  /** log10 density bounds */
  min: z.number().min(-20).max(0).optional(),
  max: z.number().min(-20).max(0).optional(),
  status: z.enum(['all', 'alive', 'dead', 'ultraRare']).default('all'),
  labelled: z.enum(['any', 'yes', 'no']).default('any'),
  hypotheses: z.enum(['any', 'open']).default('any'),
  /** `value_index` cursors from a previous page */
  after: z.string().max(64).optional(),
  before: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type FeatureTableInput = z.input<typeof featureTableInput>;

export const saeRouter = createTRPCRouter({
  /**
   * Search by inference: a job finding the SAE's features that fire most on a text (counted against the rate limit),
   * or the finished one with the same options when there is one (`cached`).
   */
  topFeatures: protectedProcedure.input(saeAddressInput.extend(searchOptionsInput.shape)).mutation(async ({ ctx, input }) => {
    const { model, sae: slug, ...options } = input;
    const sae = await saeAt(ctx.db, ctx.viewer, 'compute', model, slug);
    return searchSae(ctx.db, ctx.viewer, sae, options);
  }),

  byModel: publicProcedure.input(z.object({ model: z.string() })).query(async ({ ctx, input }) => {
    const model = await modelAt(ctx.db, ctx.viewer, 'read', input.model);
    const saes = await listSaes(ctx.db, model.id);
    const visible = await visibleSaeIds(ctx.db, ctx.viewer, saes.map((s) => s.id));
    return saes.filter((s) => visible.has(s.id)).map(({ path: _path, ...sae }) => sae);
  }),

  /** SAEs with labelling progress (labelled / total) and headline evals: of one model, or all. */
  summaries: publicProcedure.input(z.object({ model: slugInput.optional() }).default({})).query(async ({ ctx, input }) => {
    if (!input.model) return saeSummaries(ctx.db, ctx.viewer);
    const model = await modelAt(ctx.db, ctx.viewer, 'read', input.model);
    return saeSummaries(ctx.db, ctx.viewer, { modelId: model.id });
  }),

  /** The SAE overview: evals with token counts and by-position metrics, and every feature for the scatter. */
  overview: publicProcedure.input(saeAddressInput).query(async ({ ctx, input }) => {
    const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
    const overview = await saeOverview(ctx.db, sae);
    if (!overview) throw notFound(`no SAE "${input.model}/${input.sae}"`);
    const [points, runs] = await Promise.all([overview.run ? scatterPoints(ctx.db, overview.sae.id, overview.run.id) : null, dashboardRunsOf(ctx.db, overview.sae.id)]);
    return { ...overview, points, runs, can: permissions(sae.level) };
  }),

  /** Maintainers choose which of the SAE's kept dashboard runs is current (switching back to another corpus). */
  setCurrentRun: protectedProcedure.input(saeAddressInput.extend({ runId: z.uuid('not a dashboard run id') })).mutation(async ({ ctx, input }) => {
    const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
    requireLevel(ctx.viewer, sae.level, 'manage', `SAE "${input.model}/${input.sae}"`);
    await setCurrentRun(ctx.db, sae.saeId, input.runId);
    return { runId: input.runId };
  }),

  /**
   * The "Automatic explanations" panel: whether an endpoint is set and its model (never where it is, nor its key), the
   * newest explain job on this SAE, and what the viewer may do.
   */
  explainer: publicProcedure.input(saeAddressInput).query(async ({ ctx, input }) => {
    const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
    const [endpoint, job] = await Promise.all([explainerSummary(ctx.db), latestExplainJob(ctx.db, ctx.viewer, sae)]);
    return { endpoint, job, hasDashboards: sae.currentRunId !== null, can: permissions(sae.level) };
  }),

  /** Maintainers: explain the SAE's features (all live ones, a range or a list) with the configured endpoint. */
  explain: protectedProcedure.input(saeAddressInput.extend({ features: explainFeatures })).mutation(async ({ ctx, input }) => {
    const sae = await saeAt(ctx.db, ctx.viewer, 'manage', input.model, input.sae);
    return enqueueExplain(ctx.db, ctx.viewer, sae, input.features);
  }),

  /**
   * Imports dashboards made elsewhere (a Neuronpedia export, SAEDashboard output) into the SAE as a job: its
   * maintainers from a base URL, admins also from a directory on the server (which nobody else may make it read).
   */
  importDashboards: protectedProcedure
    .input(saeAddressInput.extend({ format: z.enum(DASHBOARD_IMPORT_FORMATS), location: z.string().trim().min(1).max(2000) }))
    .mutation(async ({ ctx, input }) => {
      const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
      requireLevel(ctx.viewer, sae.level, 'manage', `SAE "${input.model}/${input.sae}"`);
      if (!isUrl(input.location) && ctx.viewer?.role !== 'admin') throw forbidden('only admins may import from a directory on the server; give a base URL (http or https)');
      const job = await enqueueJob(
        await getQueue(),
        { type: 'import', params: { saeId: sae.saeId, format: input.format, location: input.location }, userId: ctx.viewer!.id, modelId: sae.modelId },
        { requestedBy: ctx.viewer! },
      );
      return { jobId: job.id };
    }),

  /** One page of the feature table (keyset pagination). */
  features: publicProcedure.input(featureTableInput).query(async ({ ctx, input }) => {
    const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
    if (!sae.currentRunId) return { rows: [], next: null, previous: null, total: 0, capped: false, ultraRareDensity: DEFAULT_ULTRA_RARE_DENSITY };
    const after = parseCursor(input.after);
    const before = parseCursor(input.before);
    if ((input.after && !after) || (input.before && !before))
      throw badInput('the page cursor is malformed');
    const pieces = await saePieces(ctx.db, sae);
    return featureTable(
      ctx.db,
      { id: sae.saeId, runId: sae.currentRunId, pieces },
      {
        sort: input.sort,
        dir: input.dir,
        log10DensityMin: input.min,
        log10DensityMax: input.max,
        status: input.status,
        labelled: input.labelled,
        hypotheses: input.hypotheses,
        viewer: ctx.viewer,
        after,
        before,
        limit: input.limit,
      },
    );
  }),

  /** The cards of some features (the scatter's selection), in the order asked; features without a dashboard are left out. */
  cards: publicProcedure
    .input(saeAddressInput.extend({ indices: z.array(featureIndexInput).max(MAX_CARDS, `ask for at most ${MAX_CARDS} features at once`) }))
    .query(async ({ ctx, input }) => {
      const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
      return featureCards(ctx.db, sae, input.indices);
    }),

  /** The labelling queue: the next unlabelled live feature at or after `from` (default: the account's own start). */
  nextToLabel: publicProcedure
    .input(saeAddressInput.extend({ from: z.number().int().min(0).optional(), includeDead: z.boolean().default(false) }))
    .query(async ({ ctx, input }) => {
      const sae = await saeAt(ctx.db, ctx.viewer, 'read', input.model, input.sae);
      const from = input.from ?? defaultStart(ctx.session?.user?.id, sae.dSae);
      if (!sae.currentRunId) return { from, next: null, remaining: 0, live: 0, hasDashboards: false };
      const state = await labelQueue(ctx.db, { id: sae.saeId, runId: sae.currentRunId }, from, { includeDead: input.includeDead });
      return { from, ...state, hasDashboards: true };
    }),
});

