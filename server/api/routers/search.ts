import { z } from 'zod';
import { parseFeatureAddress } from '../../addresses';
import { featuresFiringOn, featuresPromoting, matchTokens, searchText } from '../../search';
import { modelAt } from '../../visibility';
import { createTRPCRouter, publicProcedure } from '../trpc';

const scope = { model: z.string().min(1).max(200).optional(), sae: z.string().min(1).max(200).optional() };

export const searchRouter = createTRPCRouter({
  /** Labels and descriptions, full-text, best match first. */
  text: publicProcedure
    .input(z.object({ q: z.string().max(500, 'the query is longer than 500 characters'), ...scope, limit: z.number().int().min(1).max(100).default(50) }))
    .query(({ ctx, input }) => searchText(ctx.db, input.q, { viewer: ctx.viewer, model: input.model, sae: input.sae }, input.limit)),

  /**
   * Which tokens typed text matches (saying how), then which features fire most on them and which have them among
   * their top logits (in one model's SAEs).
   */
  token: publicProcedure
    .input(
      z.object({
        // the length limit with its own message is matchTokens' (TOKEN_TEXT_MAX); this only bounds the request
        token: z.string().max(1000),
        /** word: the piece, else the model's tokenisation; substring: the pieces containing it */
        match: z.enum(['word', 'substring']).default('word'),
        model: z.string().min(1, 'choose a model').max(200),
        sae: scope.sae,
        limit: z.number().int().min(1).max(100).default(30),
      }),
    )
    .query(async ({ ctx, input }) => {
      const model = await modelAt(ctx.db, ctx.viewer, 'read', input.model);
      const match = await matchTokens(ctx.db, model, input.token, input.match);
      const ids = match.tokens.map((t) => t.id);
      const where = { viewer: ctx.viewer, model: input.model, sae: input.sae };
      const [firing, logits] = await Promise.all([
        featuresFiringOn(ctx.db, ids, where, input.limit),
        featuresPromoting(ctx.db, ids, where, input.limit),
      ]);
      return { match, firing, logits };
    }),

  /** A feature address (model/sae/index, [[...]] or a page URL) parsed, or null. */
  address: publicProcedure.input(z.object({ q: z.string().max(500) })).query(({ input }) => parseFeatureAddress(input.q) ?? null),
});
