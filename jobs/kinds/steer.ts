/** Steering scan: x ← x + c·W_dec[f] for each coefficient c from `from` to `to` in `steps` even steps. */
import { z } from '../zod';
import type { Steering, SteeringResult } from '@/compute/analyses/steer';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const steeringPoint = describes<SteeringResult>()(
  z.object({
    coefficient: z.number(),
    loss: z.number().nullable(),
    top: z.array(z.object({ id: z.number().int(), piece: z.string(), prob: z.number() })),
    targetLogit: z.number().nullable(),
  }),
);

const steering = describes<Steering>()(
  z.object({
    tokens: tokenIds,
    target: z.object({ id: z.number().int(), piece: z.string() }).nullable(),
    coefficients: z.array(z.number()),
    results: z.array(steeringPoint),
  }),
);

export const steer = {
  title: 'Steering scan',
  params: z.object({
    saeId: z.string().uuid(),
    feature: z.number().int().nonnegative(),
    input: tokenInput,
    coefficients: z
      .object({ from: z.number().finite().min(-1e4).max(1e4), to: z.number().finite().min(-1e4).max(1e4), steps: z.number().int().min(1).max(201) })
      .default({ from: -10, to: 10, steps: 21 }),
    /** a token whose last-position logit is reported for every coefficient */
    targetToken: z.number().int().nonnegative().optional(),
    top: z.number().int().min(1).max(20).default(5),
  }),
  result: steering.extend({ pieces }),
  expirySeconds: 10 * 60,
  // the next tokens are near-tie orderings: the loss and the target's logit carry the finding
  evidence: steering.pick({ tokens: true, coefficients: true }).extend({ results: z.array(steeringPoint.pick({ loss: true, targetLogit: true })) }),
} satisfies JobKind;
