/**
 * Automatic explanations: for each feature, ask the configured OpenAI-compatible endpoint for a label from the
 * feature's top examples and score it by detection (server/explainer); each label becomes a proposal by
 * "auto (<model>)" as soon as it is scored. A re-run skips the features that already have one from the same model.
 */
import { z } from '../zod';
import type { JobKind } from '../kind';

const featureIndex = z.number().int().nonnegative();

/** a list of features or an index range (inclusive); absent: every live feature */
export const explainFeatures = z
  .union([
    z.array(featureIndex).min(1).max(10_000, 'list at most 10000 features (or give a range)'),
    z.object({ from: featureIndex, to: featureIndex }).refine((r) => r.from <= r.to, 'the range ends before it starts'),
  ])
  .optional();

export const explain = {
  title: 'Automatic explanations',
  params: z.object({
    saeId: z.string().uuid(),
    features: explainFeatures,
    /** seeds which corpus contexts are drawn as non-firing examples */
    seed: z.number().int().default(0),
  }),
  result: z.object({
    /** the endpoint's model, as proposals name it */
    model: z.string(),
    /** features asked for (less those not live) */
    features: z.number().int(),
    explained: z.number().int(),
    /** the label was already proposed for the feature (by someone or something else): that proposal kept as it was */
    alreadyProposed: z.number().int(),
    /** already explained by this model (a re-run) */
    skipped: z.number().int(),
    failed: z.number().int(),
    /** not firing in the current dashboards (nothing to explain) */
    dead: z.number().int(),
    /** the first failures, each with the endpoint's problem */
    errors: z.array(z.object({ feature: featureIndex, error: z.string() })),
    /** over the labels scored in this job; null when none */
    meanBalancedAccuracy: z.number().nullable(),
  }),
  expirySeconds: 12 * 60 * 60,
} satisfies JobKind;
