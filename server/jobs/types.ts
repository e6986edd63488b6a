/**
 * Job types and their parameters: the contract between the tRPC mutations that enqueue and the
 * worker that computes. One pg-boss queue per type.
 */
import { z } from 'zod';

export const tokenInput = z
  .object({
    text: z.string().max(20_000, 'text is longer than 20000 characters').optional(),
    tokenIds: z.array(z.number().int().nonnegative()).max(8192).optional(),
  })
  .refine((v) => (v.text === undefined) !== (v.tokenIds === undefined), 'give either text or token ids');

export const jobParams = {
  run: z.object({
    modelId: z.string().uuid(),
    input: tokenInput,
    top: z.number().int().min(1).max(50).default(5),
    generate: z.number().int().min(0).max(256).default(0),
  }),
  /** Feature dashboards and SAE evals over a corpus (all features, or some: a recompute from a feature page). */
  dashboards: z.object({
    saeId: z.string().uuid(),
    corpusId: z.string().uuid(),
    features: z.array(z.number().int().nonnegative()).min(1).optional(),
    ablateTopExamples: z.boolean().default(false),
    batchSize: z.number().int().min(1).max(256).default(8),
    seed: z.number().int().default(0),
  }),
} as const;

/** How long a job may run before pg-boss takes its worker for dead (the heartbeat sweep usually acts first). */
export const JOB_EXPIRY_SECONDS: Record<JobType, number> = {
  run: 10 * 60,
  dashboards: 12 * 60 * 60,
};

export type JobType = keyof typeof jobParams;
export type JobParams<T extends JobType> = z.infer<(typeof jobParams)[T]>;
export const JOB_TYPES = Object.keys(jobParams) as JobType[];
