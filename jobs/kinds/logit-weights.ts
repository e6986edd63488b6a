/** Recomputes the weight-based dashboard data (logit weights and histogram, encoder/decoder stats) of some features. */
import { z } from '../zod';
import type { JobKind } from '../kind';

export const logitWeights = {
  title: 'Logit weights recompute',
  params: z.object({
    saeId: z.string().uuid(),
    features: z.array(z.number().int().nonnegative()).min(1).max(4096),
    k: z.number().int().min(1).max(100).default(10),
    foldLn: z.boolean().default(true),
  }),
  /** the features rewritten in the SAE's current run */
  result: z.object({ features: z.array(z.number().int()), foldLn: z.boolean() }),
  expirySeconds: 60 * 60,
} satisfies JobKind;
