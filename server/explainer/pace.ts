/**
 * The explainer endpoint's requests-per-minute limit, kept in PostgreSQL (table explainer_pace) so that it holds for
 * every job and worker asking that endpoint together, not for each one apart. A request reserves the next free slot in
 * one atomic statement (the row moves one interval on; slots are fixed times, so one sent late does not delay the next)
 * and then waits for it here, holding no lock; a 429's Retry-After moves the shared next slot too, so the requests
 * reserved after it back off as well. Times are the database's clock, the wait is computed there: workers on machines
 * whose clocks differ still keep to one pace.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { Db } from '../db';

export class Pace {
  private readonly intervalMs: number;

  /** `key` names the endpoint's row (its URL and model: what a provider limits); `requestsPerMinute` its limit. */
  constructor(
    private readonly db: Db,
    private readonly key: string,
    requestsPerMinute: number,
  ) {
    if (!(requestsPerMinute > 0)) throw new Error(`the requests per minute must be above 0, not ${requestsPerMinute}`);
    this.intervalMs = 60_000 / requestsPerMinute;
  }

  /**
   * Reserves the endpoint's next slot (now, when it is free; else its next free time) and waits for it; rejects as
   * soon as the signal aborts (the slot stays used: requests reserved after it keep their times).
   */
  async wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const interval = sql`${this.intervalMs}::float8 * interval '1 millisecond'`;
    const { rows } = await this.db.execute<{ wait_ms: number }>(sql`
      insert into explainer_pace as p (endpoint, next_at) values (${this.key}, clock_timestamp() + ${interval})
      on conflict (endpoint) do update set next_at = greatest(p.next_at, clock_timestamp()) + ${interval}
      returning greatest(0, extract(epoch from p.next_at - clock_timestamp()) * 1000 - ${this.intervalMs}::float8)::float8 as wait_ms`);
    try {
      await delay(rows[0]!.wait_ms, undefined, { signal });
    } catch (err) {
      // node rejects with its own AbortError: the job's cancel says why through the signal's reason
      throw signal?.aborted ? signal.reason : err;
    }
  }

  /** Keeps every job off the endpoint for the next `seconds` (a 429's Retry-After or back-off). */
  async holdOff(seconds: number): Promise<void> {
    const until = sql`clock_timestamp() + ${seconds}::float8 * interval '1 second'`;
    await this.db.execute(sql`
      insert into explainer_pace as p (endpoint, next_at) values (${this.key}, ${until})
      on conflict (endpoint) do update set next_at = greatest(p.next_at, ${until})`);
  }
}
