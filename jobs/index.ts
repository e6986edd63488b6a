/**
 * The job kinds, registered by name: the contract between the tRPC mutations that enqueue, the worker that computes
 * (worker/jobs/index.ts registers a handler under each name) and the pages that show results
 * (app/_components/results). One pg-boss queue per kind. A new kind is a module in jobs/kinds/ and a line here.
 */
import type { z } from 'zod';
import { describeIssues, type JobKind } from './kind';
import { ablate } from './kinds/ablate';
import { activations } from './kinds/activations';
import { dashboards } from './kinds/dashboards';
import { demo } from './kinds/demo';
import { explain } from './kinds/explain';
import { importKind } from './kinds/import';
import { logitWeights } from './kinds/logit-weights';
import { run } from './kinds/run';
import { sampleCorpus } from './kinds/sample-corpus';
import { steer } from './kinds/steer';
import { steerGenerate } from './kinds/steer-generate';
import { topFeatures } from './kinds/top-features';
import { trainSae } from './kinds/train-sae';

export const jobKinds = {
  run,
  dashboards,
  activations,
  ablate,
  steer,
  'steer-generate': steerGenerate,
  'logit-weights': logitWeights,
  'sample-corpus': sampleCorpus,
  'train-sae': trainSae,
  demo,
  'top-features': topFeatures,
  explain,
  import: importKind,
} as const satisfies Record<string, JobKind>;

export type JobType = keyof typeof jobKinds;
export type JobParams<T extends JobType> = z.infer<(typeof jobKinds)[T]['params']>;
export type JobResult<T extends JobType> = z.infer<(typeof jobKinds)[T]['result']>;
export const JOB_TYPES = Object.keys(jobKinds) as JobType[];

/** The kinds whose results can be saved as evidence on a hypothesis (those that say what a re-run must reproduce). */
export type EvidenceJobType = { [T in JobType]: (typeof jobKinds)[T] extends { evidence: z.ZodType } ? T : never }[JobType];
export const EVIDENCE_JOB_TYPES = JOB_TYPES.filter((t): t is EvidenceJobType => 'evidence' in jobKinds[t]);

/**
 * A job record's result as its kind's schema reads it: null unless the job is of that kind, done, and shown to this
 * reader in full (server/jobs: `redacted`).
 */
export function doneResult<T extends JobType>(
  kind: T,
  job: { type: string; status: string; result: unknown; redacted?: boolean } | null | undefined,
): JobResult<T> | null {
  if (job?.type !== kind || job.status !== 'done' || job.redacted) return null;
  return parseResult(kind, job.result);
}

/** A result read by its kind's schema (what it does not describe left out); throws naming where it does not fit. */
export function parseResult<T extends JobType>(kind: T, result: unknown): JobResult<T> {
  const parsed = jobKinds[kind].result.safeParse(result);
  if (!parsed.success) throw new Error(`the ${kind} job's result does not match its schema: ${describeIssues(parsed.error)}`);
  // the kind and its schema's output go together (TypeScript does not correlate them through the generic index)
  return parsed.data as JobResult<T>;
}
