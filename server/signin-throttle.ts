/**
 * Backoff after failed sign-ins, per account and per client address, kept in PostgreSQL (sign_in_failure) so that
 * every web process sees the same counts.
 *
 * - The account is the normalised email as typed, whether or not an account has it: an unknown email backs off the
 *   same way, so the answers do not tell which accounts exist.
 * - The first FREE_FAILURES (per account) or FREE_FAILURES_PER_ADDRESS (per address: several people may share one)
 *   failures cost nothing; each one after that locks that account or address for twice as long as the last one,
 *   from BASE_DELAY_S up to MAX_DELAY_S. A try while locked is refused before the password is checked, with the time
 *   to wait (SignInThrottled); the failure that sets a lock says so too.
 * - Counts start again after WINDOW_S without a failure; a successful sign-in clears its account's count (not its
 *   address's: an attacker's own account must not reset the address they guess from).
 */
import { sql, type SQL } from 'drizzle-orm';
import { wholeNumberSetting } from './env';
import type { Db } from './db';

export const throttle = {
  FREE_FAILURES: wholeNumberSetting('LEXICON_SIGNIN_FREE_FAILURES', 5),
  FREE_FAILURES_PER_ADDRESS: wholeNumberSetting('LEXICON_SIGNIN_FREE_FAILURES_PER_ADDRESS', 20),
  BASE_DELAY_S: 1,
  MAX_DELAY_S: 15 * 60,
  WINDOW_S: 60 * 60,
};

export class SignInThrottled extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed sign-ins: try again in ${retryAfterSeconds} s`);
  }
}

/** The account a sign-in names: its email as sign-up stores it (trimmed, lower case), cut to an email's longest. */
export const accountKey = (email: string) => email.trim().toLowerCase().slice(0, 320);

type Key = { kind: 'account' | 'address'; key: string };

function keysOf(email: string, address: string | null): Key[] {
  const keys: Key[] = [{ kind: 'account', key: accountKey(email) }];
  if (address) keys.push({ kind: 'address', key: address.slice(0, 64) });
  return keys;
}

/** Throws SignInThrottled while the account or the address is locked. */
export async function checkSignInAllowed(db: Db, email: string, address: string | null): Promise<void> {
  const { rows } = await db.execute<{ wait: number | null }>(sql`
    select ceil(extract(epoch from max(locked_until) - clock_timestamp()))::int as wait
      from sign_in_failure
     where (kind = 'account' and key = ${accountKey(email)}) or (kind = 'address' and key = ${address?.slice(0, 64) ?? ''})`);
  const wait = rows[0]?.wait;
  if (wait !== null && wait !== undefined && wait > 0) throw new SignInThrottled(wait);
}

/** Counts a failed sign-in; the seconds to wait before the next try when it locked the account or address, else 0. */
export async function recordSignInFailure(db: Db, email: string, address: string | null): Promise<number> {
  let wait = 0;
  for (const { kind, key } of keysOf(email, address)) {
    const free = kind === 'account' ? throttle.FREE_FAILURES : throttle.FREE_FAILURES_PER_ADDRESS;
    const now = sql`clock_timestamp()`;
    const lock = (failures: SQL) =>
      sql`case when ${failures} >= ${free} then ${now} + make_interval(secs => least(${throttle.MAX_DELAY_S}, ${throttle.BASE_DELAY_S} * power(2, least(${failures} - ${free}, 30)))) end`;
    // the count after this failure, from the row as it was (every SET expression sees the old row)
    const counted = sql`(case when f.last_failure_at < ${now} - make_interval(secs => ${throttle.WINDOW_S}) then 1 else f.failures + 1 end)`;
    const { rows } = await db.execute<{ wait: number | null }>(sql`
      insert into sign_in_failure as f (kind, key, failures, last_failure_at, locked_until)
      values (${kind}, ${key}, 1, ${now}, ${lock(sql`1`)})
      on conflict (kind, key) do update
        set failures = ${counted}, last_failure_at = ${now}, locked_until = ${lock(counted)}
      returning ceil(extract(epoch from f.locked_until - ${now}))::int as wait`);
    wait = Math.max(wait, rows[0]?.wait ?? 0);
  }
  // now and then, forget what no longer counts
  if (Math.random() < 0.05) {
    await db.execute(sql`
      delete from sign_in_failure
       where last_failure_at < clock_timestamp() - make_interval(secs => ${throttle.WINDOW_S})
         and (locked_until is null or locked_until < clock_timestamp())`);
  }
  return wait;
}

/** A successful sign-in: its account starts counting again. */
export async function clearAccountFailures(db: Db, email: string): Promise<void> {
  await db.execute(sql`delete from sign_in_failure where kind = 'account' and key = ${accountKey(email)}`);
}
