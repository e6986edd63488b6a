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

const hookName = z.string().regex(/^[A-Za-z0-9_.]+$/, 'a TransformerLens hook name such as blocks.1.hook_resid_post');

export const sampleCorpusParams = z.object({
  modelId: z.string().uuid(),
  name: z.string().min(1).max(200).optional(),
  /** documents to sample at most */
  documents: z.number().int().min(1).max(1_000_000).default(100_000),
  /** total tokens to keep (whole contexts); sampling stops once the documents hold this many */
  maxTokens: z.number().int().min(2).max(10_000_000).default(100_000),
  /** longest document, BOS included (at most the model's context) */
  documentTokens: z.number().int().min(2).max(4096).default(256),
  /** tokens per context, BOS included */
  contextSize: z.number().int().min(2).max(4096).default(128),
  prependBos: z.boolean().default(true),
  seed: z.number().int().min(0).default(0),
  temperature: z.number().min(0).max(10).default(1),
});

export const trainSaeParams = z
  .object({
    modelId: z.string().uuid(),
    corpusId: z.string().uuid(),
    hookName,
    /** registered as model/slug (default from the hook: blocks.1.hook_resid_post → 1-res) */
    slug: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).optional(),
    dSae: z.number().int().min(1).max(65_536),
    architecture: z.enum(['standard', 'topk']).default('standard'),
    k: z.number().int().min(1).optional(),
    /** standard: sparsity penalty (default 1) */
    l1: z.number().min(0).optional(),
    /** Adam learning rate (trainSae's default when absent) */
    lr: z.number().positive().optional(),
    /** optimizer steps (default: `epochs` passes over the corpus) */
    steps: z.number().int().min(1).max(1_000_000).optional(),
    epochs: z.number().int().min(1).max(1000).optional(),
    /** tokens per step (trainSae's default when absent) */
    batchSize: z.number().int().min(1).max(65_536).optional(),
    /** train on the first contexts holding at most this many tokens (default: all) */
    maxTokens: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).default(0),
  })
  .refine((p) => p.architecture !== 'topk' || p.k !== undefined, { message: 'a topk SAE needs k', path: ['k'] });

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
    /** logit weights with the final norm folded into W_U (TransformerLens fold_ln, as Neuronpedia shows them); false: raw W_dec·W_U */
    foldLn: z.boolean().default(true),
    /** leave BOS out of the examples, the max and the histogram (density counts it, and each feature's BOS count is stored) */
    excludeBos: z.boolean().default(true),
    /** contexts drawn at random among those where a feature fires, shown beside the top ones */
    randomExamples: z.number().int().min(0).max(100).default(10),
    batchSize: z.number().int().min(1).max(256).default(8),
    seed: z.number().int().default(0),
  }),
  /** A feature page's "Test your text": the SAE's activations of some features (and the most active ones) per token. */
  activations: z.object({
    saeId: z.string().uuid(),
    input: tokenInput,
    features: z.array(z.number().int().nonnegative()).min(1).max(64),
    topK: z.number().int().min(0).max(50).default(5),
  }),
  /** Zero-ablates (or clamps) one feature at its hook on the user's text: per-token loss change and moved logits. */
  ablate: z
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
  /** Steering scan: x ← x + c·W_dec[f] for each coefficient c from `from` to `to` in `steps` even steps. */
  steer: z.object({
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
  /** Recomputes the weight-based dashboard data (logit weights and histogram, encoder/decoder stats) of some features. */
  'logit-weights': z.object({
    saeId: z.string().uuid(),
    features: z.array(z.number().int().nonnegative()).min(1).max(4096),
    k: z.number().int().min(1).max(100).default(10),
    foldLn: z.boolean().default(true),
  }),
  /** A corpus sampled from the model itself (seeded; a fine default where no dataset is at hand, e.g. stories260K). */
  'sample-corpus': sampleCorpusParams,
  /** Trains an SAE on the model's activations over a corpus, writes a SAELens directory under the data dir, registers it. */
  'train-sae': trainSaeParams,
  /**
   * The stories260K workspace: the model (local or downloaded), a sampled corpus, an SAE at each hook, their
   * dashboards and evals. Each step is skipped when an earlier attempt already did it, so a retried job resumes.
   */
  demo: z.object({
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
} as const;

/** How long a job may run before pg-boss takes its worker for dead (the heartbeat sweep usually acts first). */
export const JOB_EXPIRY_SECONDS: Record<JobType, number> = {
  run: 10 * 60,
  dashboards: 12 * 60 * 60,
  activations: 5 * 60,
  ablate: 5 * 60,
  steer: 10 * 60,
  'logit-weights': 60 * 60,
  'sample-corpus': 12 * 60 * 60,
  'train-sae': 12 * 60 * 60,
  demo: 12 * 60 * 60,
};

/**
 * What a running job reports (the job row's progress_detail): the phase, with tokens (or steps) done, the rate and
 * the ETA of that phase; a demo adds its step.
 */
export interface ProgressDetail {
  /** e.g. sampling, activations, training, registering, loading the model, logit weights, first pass: statistics, storing */
  phase: string;
  /** what `done` and `total` count */
  unit?: 'tokens' | 'steps' | 'contexts' | 'chunks' | 'features';
  done?: number;
  total?: number;
  /** units per second in this phase */
  rate?: number;
  /** seconds left in this phase (the demo: in the whole job), null until measurable */
  etaSeconds?: number | null;
  /** the dashboards phases count tokens: these mirror done/total/rate */
  tokensDone?: number;
  tokensTotal?: number;
  tokensPerSecond?: number;
  /** a multi-step job (the demo): its current step, 1-based */
  step?: string;
  stepNumber?: number;
  steps?: number;
  [key: string]: unknown;
}

export type JobType = keyof typeof jobParams;
export type JobParams<T extends JobType> = z.infer<(typeof jobParams)[T]>;
export const JOB_TYPES = Object.keys(jobParams) as JobType[];
