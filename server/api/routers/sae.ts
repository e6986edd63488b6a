import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { defaultStart, labelQueue } from '../../labelling';
import { getModelBySlug } from '../../models';
import {
  FEATURE_SORTS,
  featureTable,
  findSae,
  listSaes,
  parseCursor,
  saeOverview,
  saeSummaries,
  scatterPoints,
} from '../../saes';
import type { Db } from '../../db';
import { createTRPCRouter, publicProcedure } from '../trpc';

const slug = z.string().min(1).max(200);
const address = z.object({ model: slug, sae: slug });

async function saeOrThrow(db: Db, model: string, sae: string) {
  const row = await findSae(db, model, sae);
  if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: `no SAE "${model}/${sae}"` });
  return row;
}

/** The feature table's query, as it appears in the page URL (so every view of the table has a stable link). */
export const featureTableInput = address.extend({
  sort: z.enum(FEATURE_SORTS).default('density'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  /** log10 density bounds */
  min: z.number().min(-20).max(0).optional(),
  max: z.number().min(-20).max(0).optional(),
  status: z.enum(['all', 'alive', 'dead', 'ultraRare']).default('all'),
  labelled: z.enum(['any', 'yes', 'no']).default('any'),
  /** `value_index` cursors from a previous page */
  after: z.string().max(64).optional(),
  before: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type FeatureTableInput = z.input<typeof featureTableInput>;

export const saeRouter = createTRPCRouter({
  byModel: publicProcedure.input(z.object({ model: z.string() })).query(async ({ ctx, input }) => {
    const model = await getModelBySlug(ctx.db, input.model);
    if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no model "${input.model}"` });
    return (await listSaes(ctx.db, model.id)).map(({ path: _path, ...sae }) => sae);
  }),

  /** SAEs with labelling progress (labelled / total) and headline evals: of one model, or all. */
  summaries: publicProcedure.input(z.object({ model: slug.optional() }).default({})).query(async ({ ctx, input }) => {
    if (!input.model) return saeSummaries(ctx.db);
    const model = await getModelBySlug(ctx.db, input.model);
    if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no model "${input.model}"` });
    return saeSummaries(ctx.db, { modelId: model.id });
  }),

  /** The SAE overview: evals with token counts and by-position metrics, and every feature for the scatter. */
  overview: publicProcedure.input(address).query(async ({ ctx, input }) => {
    const overview = await saeOverview(ctx.db, input.model, input.sae);
    if (!overview) throw new TRPCError({ code: 'NOT_FOUND', message: `no SAE "${input.model}/${input.sae}"` });
    const points = overview.run ? await scatterPoints(ctx.db, overview.sae.id, overview.run.id) : null;
    return { ...overview, points };
  }),

  /** One page of the feature table (keyset pagination). */
  features: publicProcedure.input(featureTableInput).query(async ({ ctx, input }) => {
    const sae = await saeOrThrow(ctx.db, input.model, input.sae);
    if (!sae.currentRunId) return { rows: [], next: null, previous: null, total: 0, capped: false, ultraRareDensity: undefined };
    const after = parseCursor(input.after);
    const before = parseCursor(input.before);
    if ((input.after && !after) || (input.before && !before))
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'the page cursor is malformed' });
    const ultraRareDensity = await ultraRareDensityOf(ctx.db, sae.currentRunId);
    const page = await featureTable(
      ctx.db,
      { id: sae.id, runId: sae.currentRunId, ultraRareDensity },
      {
        sort: input.sort,
        dir: input.dir,
        log10DensityMin: input.min,
        log10DensityMax: input.max,
        status: input.status,
        labelled: input.labelled,
        after,
        before,
        limit: input.limit,
      },
    );
    return { ...page, ultraRareDensity };
  }),

  /** The labelling queue: the next unlabelled live feature at or after `from` (default: the account's own start). */
  nextToLabel: publicProcedure
    .input(address.extend({ from: z.number().int().min(0).optional(), includeDead: z.boolean().default(false) }))
    .query(async ({ ctx, input }) => {
      const sae = await saeOrThrow(ctx.db, input.model, input.sae);
      const from = input.from ?? defaultStart(ctx.session?.user?.id, sae.dSae);
      if (!sae.currentRunId) return { from, next: null, remaining: 0, live: 0, hasDashboards: false };
      const state = await labelQueue(ctx.db, { id: sae.id, runId: sae.currentRunId }, from, { includeDead: input.includeDead });
      return { from, ...state, hasDashboards: true };
    }),
});

async function ultraRareDensityOf(db: Db, runId: string): Promise<number | undefined> {
  const run = await db.query.dashboardRuns.findFirst({ where: (r, { eq }) => eq(r.id, runId), columns: { evals: true } });
  return (run?.evals as { ultraRareDensity?: number } | null)?.ultraRareDensity;
}
