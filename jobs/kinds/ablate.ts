/** Zero-ablates (or clamps) one feature at its hook on the user's text: per-token loss change and moved logits. */
import { z } from '../zod';
import type { Ablation } from '@/compute/analyses/ablate';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const ablation = describes<Ablation>()(
  z.object({
    tokens: tokenIds,
    acts: z.array(z.number()),
    lossClean: z.array(z.number()),
    lossAblated: z.array(z.number()),
    logitDeltas: z.array(z.object({ id: z.number().int(), piece: z.string(), delta: z.number() })),
    kl: z.array(z.number()),
  }),
);

export const ablate = {
  title: 'Ablation',
  params: z
    .object({
      saeId: z.string().uuid(),
      feature: z.number().int().nonnegative(),
      input: tokenInput,
      /** where to intervene (default: every position) */
      positions: z.array(z.number().int().nonnegative()).min(1).max(8192).optional(),
      mode: z.enum(['zero', 'clamp']).default('zero'),
      value: z.number().finite().optional(),
      top: z.number().int().min(1).max(100).default(10),
    })
    .refine((p) => (p.mode === 'clamp') === (p.value !== undefined), { message: 'a value goes with mode clamp, and only with it', path: ['value'] }),
  // the page shows the text as tokens; the worker holds the tokenizer
  result: ablation.extend({ pieces }),
  expirySeconds: 5 * 60,
  evidence: ablation.pick({ tokens: true, acts: true, lossClean: true, lossAblated: true, kl: true }),
} satisfies JobKind;
