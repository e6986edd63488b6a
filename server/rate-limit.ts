/**
 * Per-user rate limit on compute jobs: at most LEXICON_JOB_RATE jobs per minute per account (default 30; admins
 * are exempt), counted from the job table (job_user_created_idx) inside the transaction that enqueues, so it holds
 * across web processes and restarts.
 */
import { sql } from 'drizzle-orm';
import type { Viewer } from './authz';
import type { Db } from './db';
import { wholeNumberSetting } from './env';
import { DomainError } from './errors';

export const JOB_RATE_PER_MINUTE = wholeNumberSetting('LEXICON_JOB_RATE', 30);

export class RateLimited extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate-limited', `you started ${JOB_RATE_PER_MINUTE} jobs in the last minute: try again in ${retryAfterSeconds} s`);
  }
}

/**
 * Throws RateLimited when `user` has started JOB_RATE_PER_MINUTE jobs in the last minute. Call it in the transaction
 * that inserts the job: the advisory lock makes one user's concurrent requests count one after the other.
 */
export async function checkJobRate(tx: Db, user: NonNullable<Viewer>): Promise<void> {
  if (user.role === 'admin') return;
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.job-rate'), hashtext(${user.id}))`);
  const { rows } = await tx.execute<{ n: number; wait: number | null }>(sql`
    select count(*)::int as n, ceil(extract(epoch from min(created_at) + interval '1 minute' - clock_timestamp()))::int as wait
      from (select created_at from job where user_id = ${user.id} and created_at > clock_timestamp() - interval '1 minute'
             order by created_at desc limit ${JOB_RATE_PER_MINUTE}) recent`);
  const { n, wait } = rows[0]!;
  if (n >= JOB_RATE_PER_MINUTE) throw new RateLimited(Math.max(1, wait ?? 60));
}
