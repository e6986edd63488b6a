/**
 * Caps on open live streams (SSE): per client address across every web process, counted in PostgreSQL (live_stream),
 * and per process, counted here (the bound that protects this process). A row names the backend of its process's
 * LISTEN connection (server/events.ts) and counts only while that backend lives, so the streams of a process that
 * died stop counting without anyone cleaning up after it.
 */
import { eq, sql } from 'drizzle-orm';
import { liveStreams } from '@/drizzle/schema';
import { withTransaction, type Db } from './db';
import { maxStreamsPerAddress, maxStreamsPerProcess } from './limits';

export interface StreamSlotsOptions {
  db: () => Db;
  /** the backend pid of this process's LISTEN connection, connecting first if need be */
  backendPid: () => Promise<number>;
  caps?: () => { perAddress: number; perProcess: number };
}

export class StreamSlots {
  private total = 0;

  constructor(private readonly options: StreamSlotsOptions) {}

  get open(): number {
    return this.total;
  }

  /** A release function (idempotent), or null when `address` or this process is at its cap. */
  async take(address: string): Promise<(() => void) | null> {
    const { perAddress, perProcess } = this.options.caps?.() ?? { perAddress: maxStreamsPerAddress(), perProcess: maxStreamsPerProcess() };
    if (this.total >= perProcess) return null;
    this.total++;
    // the stream's row; none while PostgreSQL is away (restarting): the stream itself waits for it, and only this
    // process's cap applies meanwhile
    let row: string | undefined;
    try {
      const id = await this.claim(address, perAddress);
      if (id === null) {
        this.total--;
        return null;
      }
      row = id;
    } catch (err) {
      console.error(`[streams] the per-address count is unavailable: ${(err as Error).message}`);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      if (row === undefined) return;
      this.options
        .db()
        .delete(liveStreams)
        .where(eq(liveStreams.id, row))
        .catch((err: Error) => console.error(`[streams] a closed stream stays counted until its process ends: ${err.message}`));
    };
  }

  /** The new stream's row, or null when the address has its cap of live streams. */
  private async claim(address: string, cap: number): Promise<string | null> {
    const backendPid = await this.options.backendPid();
    return withTransaction(async (tx) => {
      // one claim per address at a time, across processes, so that two cannot both take the last slot
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.live-stream'), hashtext(${address}))`);
      const { rows } = await tx.execute<{ id: string }>(sql`
        insert into live_stream (address, backend_pid)
        select ${address}, ${backendPid}
         where (select count(*) from live_stream s join pg_stat_activity a on a.pid = s.backend_pid where s.address = ${address}) < ${cap}
        returning id`);
      // now and then, forget the streams of processes that are gone
      if (Math.random() < 0.01) await tx.execute(sql`delete from live_stream s where not exists (select 1 from pg_stat_activity a where a.pid = s.backend_pid)`);
      return rows[0]?.id ?? null;
    });
  }
}
