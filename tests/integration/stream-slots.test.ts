/**
 * The live-stream caps (server/stream-slots.ts) against a real PostgreSQL: two web processes, each with its own
 * LISTEN connection, share one count per client address; each keeps its own process cap; a release frees a slot once;
 * and the streams of a process whose connection is gone stop counting.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { StreamSlots } from '@/server/stream-slots';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
/** each process's LISTEN connection, whose backend its rows name */
let listeners: pg.Client[];

beforeAll(async () => {
  database = await startTestDatabase();
  listeners = [new pg.Client({ connectionString: database.url }), new pg.Client({ connectionString: database.url })];
  await Promise.all(listeners.map((c) => c.connect()));
}, 120_000);

afterAll(async () => {
  await Promise.all(listeners.map((c) => c.end().catch(() => undefined)));
  await getPool().end();
  await database?.stop();
});

const processSlots = (listener: pg.Client) =>
  new StreamSlots({
    db: getDb,
    backendPid: async () => (await listener.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid,
    caps: () => ({ perAddress: 2, perProcess: 3 }),
  });

describe('live stream slots', () => {
  it('count per address across processes and per process here, free a slot once, and forget a dead process’s streams', async () => {
    const [a, b] = [processSlots(listeners[0]!), processSlots(listeners[1]!)];
    const a1 = (await a.take('10.0.0.1'))!;
    expect(a1).toBeTypeOf('function');
    expect(await b.take('10.0.0.1')).toBeTypeOf('function');
    expect(await a.take('10.0.0.1'), 'a third from one address, through either process').toBeNull();
    expect(await b.take('10.0.0.1')).toBeNull();

    expect(await a.take('10.0.0.2')).toBeTypeOf('function');
    expect(await a.take('10.0.0.3')).toBeTypeOf('function');
    expect(a.open).toBe(3);
    expect(await a.take('10.0.0.4'), 'past this process’s cap').toBeNull();
    expect(await b.take('10.0.0.4'), 'the other process has room').toBeTypeOf('function');

    a1();
    a1(); // twice: counted once
    expect(a.open).toBe(2);
    // the row goes after the release returns
    await expect.poll(() => b.take('10.0.0.1').then((r) => r !== null)).toBe(true);
    expect(await a.take('10.0.0.1')).toBeNull();

    // process b dies: its LISTEN connection's backend ends, and its two streams from 10.0.0.1 and 10.0.0.4 stop counting
    await listeners[1]!.end();
    await expect.poll(async () => (await a.take('10.0.0.1')) !== null).toBe(true);
  });
});
