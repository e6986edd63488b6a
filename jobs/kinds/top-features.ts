/** Search by inference: the features of an SAE that fire most on a text (the SAE page's "Which features fire on my text?"). */
import { z } from '../zod';
import type { PromptFeatures } from '@/compute/analyses/top-features';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const promptFeatures = describes<PromptFeatures>()(
  z.object({
    tokens: tokenIds,
    pieces,
    positions: z.array(z.number().int().nonnegative()),
    features: z.array(
      z.object({
        feature: z.number().int().nonnegative(),
        maxAct: z.number(),
        position: z.number().int().nonnegative(),
        firing: z.number().int().positive(),
        sum: z.number(),
        acts: z.array(z.number()),
      }),
    ),
  }),
);

export const topFeatures = {
  title: 'Features that fire on a text',
  params: z.object({
    saeId: z.string().uuid(),
    input: tokenInput,
    top: z.number().int().min(1).max(100).default(20),
    rank: z.enum(['max', 'sum']).default('max'),
    /** the token positions to rank over; all when absent */
    positions: z.array(z.number().int().nonnegative()).min(1).max(4096).optional(),
    ignoreBos: z.boolean().default(true),
  }),
  // each feature's label when the job ran ('' unlabelled) and its density in the SAE's current dashboard run then
  // (`densityRun`; null: no dashboards yet), so the table names them
  result: promptFeatures.extend({
    densityRun: z.string().uuid().nullable(),
    features: z.array(promptFeatures.shape.features.element.extend({ label: z.string(), density: z.number().nullable() })),
  }),
  expirySeconds: 5 * 60,
} satisfies JobKind;
