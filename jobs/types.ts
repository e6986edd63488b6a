/** What the job kinds' params share (jobs/kinds/*), and what a running job reports as progress. */
import { z } from './zod';

export const tokenInput = z
  .object({
    text: z.string().max(20_000, 'text is longer than 20000 characters').optional(),
    tokenIds: z.array(z.number().int().nonnegative()).max(8192).optional(),
  })
  .refine((v) => (v.text === undefined) !== (v.tokenIds === undefined), 'give either text or token ids');

/** A prompt typed on a page: not just whitespace (the worker checks the token length against the model's context). */
export const promptInput = tokenInput.refine((v) => v.text === undefined || v.text.trim() !== '', 'the text is empty');

export const hookName = z.string().regex(/^[A-Za-z0-9_.]+$/, 'a TransformerLens hook name such as blocks.1.hook_resid_post');

/** Token ids and their pieces as the model's tokenizer shows them: how results carry the user's text. */
export const tokenIds = z.array(z.number().int().nonnegative());
export const pieces = z.array(z.string());

/**
 * What a running job reports (the job row's progress_detail): the phase, with tokens (or steps) done, the rate and
 * the ETA of that phase; a demo adds its step.
 */
export interface ProgressDetail {
  /** e.g. sampling, activations, training, registering, loading the model, logit weights, first pass: statistics, storing */
  phase: string;
  /** what `done` and `total` count */
  unit?: 'tokens' | 'steps' | 'contexts' | 'chunks' | 'features' | 'files';
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
  /** a dashboards job: its shards (server/dashboard-shards.ts); tokens and the rate are then summed over them */
  shards?: DashboardShardsDetail;
  /** other counts of the job so far, by what they count: an import's lines read and decoder vectors */
  counts?: Record<string, number>;
  /** a multi-step job (the demo): its current step, 1-based */
  step?: string;
  stepNumber?: number;
  steps?: number;
  [key: string]: unknown;
}

/** A dashboards job's shards: done of the total, and how many run now on how many workers. */
export interface DashboardShardsDetail {
  done: number;
  total: number;
  running: number;
  workers: number;
}
