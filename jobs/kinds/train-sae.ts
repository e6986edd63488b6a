/** Trains an SAE on the model's activations over a corpus, writes a SAELens directory under the data dir, registers it. */
import { z } from '../zod';
import type { TokenUse } from '../../compute/sae/token-use';
import { describes, type JobKind } from '../kind';
import { hookName } from '../types';
import { LR_SCHEDULES } from '../../compute/sae/lr-schedule';

const registered = z.object({
  saeId: z.string().uuid(),
  slug: z.string(),
  path: z.string(),
  /** the import check's findings as the SAE row stores them */
  importCheck: z.unknown(),
});

export const trainSae = {
  title: 'SAE training',
  params: z
    .object({
      modelId: z.string().uuid(),
      corpusId: z.string().uuid(),
      hookName,
      /** registered as model/slug (default from the hook: blocks.1.hook_resid_post → 1-res); the worker checks it is a slug */
      slug: z.string().min(1).max(200).optional(),
      dSae: z.number().int().min(1).max(65_536),
      architecture: z.enum(['standard', 'topk']).default('standard'),
      k: z.number().int().min(1).optional(),
      /** standard: sparsity penalty (default 1) */
      l1: z.number().min(0).optional(),
      /** Adam learning rate (trainSae's default when absent) */
      lr: z.number().positive().optional(),
      /** the learning rate per step (compute/sae/lr-schedule.ts; SAELens's names): constant (default) or cosineannealing */
      lrSchedule: z.enum(LR_SCHEDULES).optional(),
      /** linear warm-up steps at the start, linear decay steps to 0 at the end (default 0 each) */
      lrWarmupSteps: z.number().int().min(0).optional(),
      lrDecaySteps: z.number().int().min(0).optional(),
      /** where cosineannealing ends (default lr / 10) */
      lrEnd: z.number().min(0).optional(),
      /** optimizer steps (default: `epochs` passes over the corpus) */
      steps: z.number().int().min(1).max(1_000_000).optional(),
      epochs: z.number().int().min(1).max(1000).optional(),
      /** tokens per step (trainSae's default when absent) */
      batchSize: z.number().int().min(1).max(65_536).optional(),
      /** train on the first contexts holding at most this many tokens (default: all) */
      maxTokens: z.number().int().min(1).optional(),
      seed: z.number().int().min(0).default(0),
    })
    .refine((p) => p.architecture !== 'topk' || p.k !== undefined, { message: 'a topk SAE needs k', path: ['k'] }),
  result: z.union([
    registered.extend({
      steps: z.number().int(),
      resampled: z.number().int(),
      /** how much of the corpus went into training (compute/sae/token-use.ts), and a sentence when not all of it */
      tokens: describes<TokenUse>()(
        z.object({ corpusTokens: z.number().int(), selectedTokens: z.number().int(), tokensUsed: z.number().int(), steps: z.number().int(), batchSize: z.number().int() }),
      ),
      note: z.string().optional(),
      /** measured on all the training activations after training */
      metrics: z.object({ nTokens: z.number().int(), mse: z.number(), l0: z.number(), varianceExplained: z.number(), deadFraction: z.number() }),
    }),
    /** an earlier attempt of the same job (its worker died after registering) had finished the work */
    registered.extend({ resumed: z.literal(true) }),
  ]),
  expirySeconds: 12 * 60 * 60,
} satisfies JobKind;
