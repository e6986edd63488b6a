/**
 * The labelling queue of an SAE: the next feature (with dashboards, that fired at least once) whose page has no
 * label, from a starting index, wrapping round. Teams spread out by starting at different indices (each account
 * has its own default start); two people saving the same feature are kept apart by the edit's base revision.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './db';

export interface QueueState {
  /** the next unlabelled feature at or after `from` (wrapping), null when none is left */
  next: number | null;
  /** live (fired at least once) features without a label */
  remaining: number;
  /** live features */
  live: number;
}

/** Where an account starts in an SAE of `dSae` features when it names no index: spread by its id. */
export function defaultStart(userId: string | null | undefined, dSae: number): number {
  if (!userId || dSae <= 0) return 0;
  let h = 2166136261;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 16777619);
  return (h >>> 0) % dSae;
}

export async function labelQueue(
  db: Db,
  sae: { id: string; runId: string },
  from: number,
  options: { includeDead?: boolean } = {},
): Promise<QueueState> {
  const live = options.includeDead ? sql`true` : sql`f.nonzero_count > 0`;
  const unlabelled = sql`not exists (select 1 from feature_page p where p.sae_id = ${sae.id} and p.index = f.index and p.label <> '')`;
  const { rows } = await db.execute<{ next: number | null; wrapped: number | null; remaining: number; live: number }>(sql`
    select (select f.index from feature f where f.run_id = ${sae.runId} and f.index >= ${from} and ${live} and ${unlabelled}
             order by f.index limit 1) as next,
           (select f.index from feature f where f.run_id = ${sae.runId} and f.index < ${from} and ${live} and ${unlabelled}
             order by f.index limit 1) as wrapped,
           (select count(*) from feature f where f.run_id = ${sae.runId} and ${live} and ${unlabelled})::int as remaining,
           (select count(*) from feature f where f.run_id = ${sae.runId} and ${live})::int as live`);
  const r = rows[0]!;
  return { next: r.next ?? r.wrapped ?? null, remaining: r.remaining, live: r.live };
}
