/** A feature page's "Test your text": the SAE's activations of some features (and the most active ones) per token. */
import { z } from '../zod';
import type { FeatureActivations } from '@/compute/analyses/activations';
import type { FeatureAttribution } from '@/compute/analyses/dfa';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const featureActivations = describes<FeatureActivations>()(
  z.object({
    tokens: tokenIds,
    pieces,
    features: z.record(z.string(), z.array(z.number())),
    top: z.array(z.array(z.object({ feature: z.number().int(), act: z.number() }))),
  }),
);

const featureAttribution = describes<FeatureAttribution>()(
  z.object({
    tokens: tokenIds,
    pieces,
    feature: z.number().int(),
    position: z.number().int(),
    act: z.number(),
    pre: z.number(),
    bias: z.number(),
    sources: z.array(z.number()),
  }),
);

export const activations = {
  title: 'Test your text',
  params: z.object({
    saeId: z.string().uuid(),
    input: tokenInput,
    features: z.array(z.number().int().nonnegative()).min(1).max(64),
    topK: z.number().int().min(0).max(50).default(5),
  }),
  // a hook_z SAE's run also says where the first feature reads from (worker/jobs/activations.ts)
  result: featureActivations.extend({ dfa: featureAttribution.optional() }),
  expirySeconds: 5 * 60,
  evidence: featureActivations.pick({ tokens: true, features: true }),
} satisfies JobKind;
