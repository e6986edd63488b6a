/** Search by inference: the features of an SAE that fire most on a text (the SAE page's "Which features fire on my text?"). */
import { z } from '../zod';
import type { PromptFeatures } from '@/compute/analyses/top-features';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const promptFeatures = describes<PromptFeatures>()(
  z.object({
    tokens: tokenIds,
    pieces,
    features: z.array(z.object({ feature: z.number().int().nonnegative(), maxAct: z.number(), position: z.number().int().nonnegative(), firing: z.number().int().positive() })),
  }),
);

export const topFeatures = {
  title: 'Features that fire on a text',
  params: z.object({
    saeId: z.string().uuid(),
    input: tokenInput,
    top: z.number().int().min(1).max(100).default(20),
  }),
  // each feature's label when the job ran ('' unlabelled), so the table names them
  result: promptFeatures.extend({ features: z.array(promptFeatures.shape.features.element.extend({ label: z.string() })) }),
  expirySeconds: 5 * 60,
} satisfies JobKind;
