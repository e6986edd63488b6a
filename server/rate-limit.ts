/**
 * Rates counted in PostgreSQL, so that they hold across web processes (one per core) and restarts:
 * - compute jobs: at most LEXICON_JOB_RATE jobs per minute per account (default 30; admins are exempt), counted from
 *   the job table (job_user_created_idx) inside the transaction that enqueues;
 * - REST API requests (server/api/rest): per token or client address in fixed one-minute windows, one request_rate row
 *   per key, counted by one upsert (as sign_in_failure is, server/signin-throttle.ts).
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

/**
 * Counts a REST API request with `key` (`token:ID`, `address:IP`): null when it may go ahead, else the seconds until
 * the key's window ends. One statement, so that concurrent requests of every web process count one after the other.
 */
export async function takeRequest(db: Db, key: string, perMinute: number): Promise<number | null> {
  const now = sql`clock_timestamp()`;
  const expired = sql`r.window_start <= ${now} - interval '1 minute'`;
  const { rows } = await db.execute<{ count: number; wait: number }>(sql`
    insert into request_rate as r (key, window_start, count) values (${key}, ${now}, 1)
    on conflict (key) do update
      set window_start = case when ${expired} then ${now} else r.window_start end,
          count = case when ${expired} then 1 else r.count + 1 end
    returning r.count, ceil(extract(epoch from r.window_start + interval '1 minute' - ${now}))::int as wait`);
  // now and then, forget the windows that have ended
  if (Math.random() < 0.01) await db.execute(sql`delete from request_rate where window_start <= ${now} - interval '1 minute'`);
  const { count, wait } = rows[0]!;
  return count > perMinute ? Math.max(1, wait) : null;
}
