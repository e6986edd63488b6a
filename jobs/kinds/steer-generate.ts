/**
 * Steered generation: the prompt continued twice from one seed, as the model would (default) and with
 * Σ strength·W_dec[f] added at the SAE's hook at every position (steered), with each token's top-k log-probs.
 */
import { z } from '../zod';
import type { Continuation, SteeredGeneration, TokenLogprob } from '@/compute/analyses/steer-generate';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const strength = z.number().finite().min(-1e4).max(1e4);

/** One feature with its strength, or a composed direction (the mean or sum of several decoder rows) with one. */
export const steeringTerm = z.union([
  z.object({ feature: z.number().int().nonnegative(), strength }),
  z.object({ features: z.array(z.number().int().nonnegative()).min(1).max(64), compose: z.enum(['mean', 'sum']), strength }),
]);
export type SteeringTermParam = z.infer<typeof steeringTerm>;

const tokenLogprob = describes<TokenLogprob>()(z.object({ id: z.number().int(), piece: z.string(), logprob: z.number() }));

const continuation = describes<Continuation>()(
  z.object({
    tokens: tokenIds,
    pieces,
    logprobs: z.array(z.number()),
    top: z.array(z.array(tokenLogprob)),
    stop: z.enum(['max-tokens', 'end', 'context']),
  }),
);

const generation = describes<SteeredGeneration>()(
  z.object({ tokens: tokenIds, steeringNorm: z.number(), default: continuation, steered: continuation }),
);

/** What a re-run must reproduce of one continuation: the same tokens, their log-probs within the comparison's tolerance. */
const reproduced = continuation.pick({ tokens: true, logprobs: true });

export const steerGenerate = {
  title: 'Steered generation',
  params: z.object({
    saeId: z.string().uuid(),
    input: tokenInput,
    steering: z.array(steeringTerm).min(1).max(32),
    /** divide each decoder row by its norm first (Neuronpedia's normalize_steering; off there by default too) */
    normalize: z.boolean().default(false),
    maxTokens: z.number().int().min(1).max(256).default(32),
    /** 0 takes the most likely token */
    temperature: z.number().finite().min(0).max(10).default(0.5),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(16),
    topK: z.number().int().min(1).max(20).default(5),
  }),
  result: generation.extend({ pieces }),
  expirySeconds: 10 * 60,
  evidence: z.object({ tokens: tokenIds, default: reproduced, steered: reproduced }),
} satisfies JobKind;

/** The features a steering term steers with: the one it names, or those its direction composes. */
export function termFeatures(term: SteeringTermParam): number[] {
  return 'feature' in term ? [term.feature] : term.features;
}
