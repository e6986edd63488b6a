/**
 * What defines a job kind (one module per kind under jobs/kinds/, registered by name in jobs/index.ts): its params
 * and result schemas, how long pg-boss lets it run, what of its result a re-run of saved evidence must reproduce,
 * and a title for people. Neutral: zod and compute types only, so the web process, the worker and the pages share it.
 */
import type { z } from 'zod';

export interface JobKind {
  /** what the job is called on pages, e.g. "Test your text" */
  title: string;
  /** what the tRPC mutations enqueue and the worker parses */
  params: z.ZodType;
  /** what the handler must produce: checked when the worker writes it, parsed where a page reads it */
  result: z.ZodType;
  /** how long a job may run before pg-boss takes its worker for dead (the heartbeat sweep usually acts first) */
  expirySeconds: number;
  /**
   * For a kind that can be saved as evidence: the part of its result a re-run must reproduce (the numbers that carry
   * the finding, not presentation such as pieces or near-tie orderings). Parsing a result with it keeps only that part.
   */
  evidence?: z.ZodType;
}

/**
 * A result schema that describes a compute type: `describes<Ablation>()(z.object({...}))` is a type error when the
 * schema's output stops fitting the type (the handlers' return types check the other direction).
 */
export function describes<T>() {
  return <S extends z.ZodType<T>>(schema: S): S => schema;
}

/** A zod error as one line naming where each problem is, in the paths evidence comparisons use (`features.5[3]`). */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const issues = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
    return `${path || 'the result'}: ${issue.message}`;
  });
  const more = error.issues.length - issues.length;
  return issues.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}
