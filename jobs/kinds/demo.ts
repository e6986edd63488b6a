/**
 * The stories260K workspace: the model (local or downloaded), a sampled corpus, an SAE at each hook, their
 * dashboards and evals. Each step is skipped when an earlier attempt already did it, so a retried job resumes.
 */
import { z } from '../zod';
import type { JobKind } from '../kind';
import { hookName } from '../types';

/** The headline evals of a dashboards run. */
const evalsSummary = z.object({
  nTokens: z.number().int(),
  l0: z.number(),
  mse: z.number(),
  varianceExplained: z.number().nullable(),
  ceRecovered: z.number().nullable(),
  deadFraction: z.number(),
});

export const demo = {
  title: 'Demo workspace',
  params: z.object({
    /** sampled corpus tokens (whole contexts) */
    tokens: z.number().int().min(64).max(10_000_000).default(100_000),
    contextSize: z.number().int().min(2).max(4096).default(128),
    /** longest sampled document (a story ends earlier, at BOS) */
    documentTokens: z.number().int().min(2).max(4096).default(256),
    hooks: z.array(hookName).min(1).max(8).default(['blocks.1.hook_resid_post', 'blocks.3.hook_resid_post']),
    dSae: z.number().int().min(1).max(65_536).default(512),
    architecture: z.enum(['standard', 'topk']).default('standard'),
    k: z.number().int().min(1).optional(),
    l1: z.number().min(0).optional(),
    lr: z.number().positive().optional(),
    /** SAE training passes over the corpus (or `steps`) */
    epochs: z.number().int().min(1).max(1000).default(5),
    steps: z.number().int().min(1).max(1_000_000).optional(),
    trainBatchSize: z.number().int().min(1).max(65_536).optional(),
    seed: z.number().int().min(0).default(0),
  }),
  result: z.object({
    model: z.string(),
    modelId: z.string().uuid(),
    corpusId: z.string().uuid(),
    nTokens: z.number().int(),
    saes: z.array(z.object({ slug: z.string(), id: z.string().uuid(), runId: z.string().uuid(), evals: evalsSummary.nullable() })),
    /** each step's and the whole job's */
    seconds: z.record(z.string(), z.number()),
  }),
  expirySeconds: 12 * 60 * 60,
} satisfies JobKind;
