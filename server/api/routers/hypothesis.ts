import { z } from 'zod';
import { featureAddressInput } from '../../address-inputs';
import { parseFeatureAddress, parseSaeAddress } from '../../addresses';
import { evidenceNoteInput, listEvidence, rerunEvidence, saveEvidence } from '../../evidence';
import {
  createHypothesis,
  featureAddressesInput,
  getHypothesis,
  HYPOTHESIS_STATUSES,
  hypothesesOfFeature,
  hypothesisBodyInput,
  listHypotheses,
  setHypothesisStatus,
  statementInput,
  statusNoteInput,
  updateHypothesis,
  voteOnHypothesis,
} from '../../hypotheses';
import { badInput } from '../../errors';
import { siteHosts, withChips } from '../../feature-links';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const id = z.string().uuid('not a hypothesis id');
const newHypothesis = z.object({ statement: statementInput, body: hypothesisBodyInput.default(''), features: featureAddressesInput });

/** The list's filters as the URL carries them. */
export const hypothesisListInput = z.object({
  status: z.enum(HYPOTHESIS_STATUSES).optional(),
  /** model/sae/index */
  feature: z.string().max(300).optional(),
  /** model/sae */
  sae: z.string().max(300).optional(),
  /** a user id */
  author: z.uuid('the author is not a user id').optional(),
  /** the previous page's `next` */
  before: z.string().max(200).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

export const hypothesisRouter = createTRPCRouter({
  list: publicProcedure.input(hypothesisListInput).query(async ({ ctx, input }) => {
    const feature = input.feature ? parseFeatureAddress(input.feature) : undefined;
    if (input.feature && !feature) throw badInput(`"${input.feature}" is not a feature address (model/sae/index)`);
    const sae = input.sae ? parseSaeAddress(input.sae) : undefined;
    if (input.sae && !sae) throw badInput(`"${input.sae}" is not an SAE address (model/sae)`);
    return listHypotheses(ctx.db, ctx.viewer, {
      status: input.status,
      feature,
      sae,
      author: input.author,
      before: input.before,
      limit: input.limit,
    });
  }),

  /** The hypotheses about one feature (its page's box). */
  forFeature: publicProcedure.input(featureAddressInput).query(({ ctx, input }) => hypothesesOfFeature(ctx.db, ctx.viewer, input)),

  get: publicProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    const hypothesis = await getHypothesis(ctx.db, ctx.viewer, input.id);
    const [[html], evidence] = await Promise.all([
      withChips(ctx.db, ctx.viewer, [hypothesis.html]),
      listEvidence(ctx.db, ctx.viewer, input.id),
    ]);
    return { ...hypothesis, html: html!, evidence };
  }),

  create: protectedProcedure.input(newHypothesis).mutation(({ ctx, input }) => createHypothesis(ctx.db, ctx.viewer, input, siteHosts(ctx.headers))),

  update: protectedProcedure
    .input(z.object({ id, statement: statementInput, body: hypothesisBodyInput, features: featureAddressesInput.optional() }))
    .mutation(async ({ ctx, input }) => {
      await updateHypothesis(ctx.db, ctx.viewer, input.id, input, siteHosts(ctx.headers));
      return { id: input.id };
    }),

  setStatus: protectedProcedure
    .input(z.object({ id, status: z.enum(HYPOTHESIS_STATUSES), note: statusNoteInput.default('') }))
    .mutation(async ({ ctx, input }) => {
      await setHypothesisStatus(ctx.db, ctx.viewer, input.id, input.status, input.note);
      return { id: input.id, status: input.status };
    }),

  vote: protectedProcedure
    .input(z.object({ id, value: z.union([z.literal(1), z.literal(-1), z.literal(0)]) }))
    .mutation(({ ctx, input }) => voteOnHypothesis(ctx.db, ctx.viewer, input.id, input.value)),

  /** Saves a finished panel job, or the feature's current dashboard, as evidence (on a hypothesis, or a new one). */
  saveEvidence: protectedProcedure
    .input(
      z.object({
        hypothesisId: id.optional(),
        newHypothesis: newHypothesis.optional(),
        source: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('job'), jobId: z.string().uuid('not a job id') }),
          z.object({ kind: z.literal('snapshot'), feature: featureAddressInput }),
        ]),
        note: evidenceNoteInput.default(''),
      }),
    )
    .mutation(({ ctx, input }) => saveEvidence(ctx.db, ctx.viewer, { ...input, hosts: siteHosts(ctx.headers) })),

  /** Re-runs a piece of evidence; the page compares the result when the job is done. */
  rerun: protectedProcedure.input(z.object({ evidenceId: z.string().uuid('not an evidence id') })).mutation(({ ctx, input }) => rerunEvidence(ctx.db, ctx.viewer, input.evidenceId)),
});
