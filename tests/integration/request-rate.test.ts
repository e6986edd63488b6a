/**
 * The REST API's request rate (server/rate-limit.ts takeRequest), counted in a real PostgreSQL: callers through two
 * connection pools, as two web processes are, share one count per key, concurrent requests included.
 */
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '@/drizzle/schema';
import { getDb, getPool, openPool, type Db } from '@/server/db';
import { takeRequest } from '@/server/rate-limit';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
let otherPool: pg.Pool;
/** two web processes' connections to the one database: this one's, and a pool of its own as another process has */
let processes: [Db, Db];

beforeAll(async () => {
  database = await startTestDatabase();
  otherPool = openPool(database.url);
  processes = [getDb(), drizzle(otherPool, { schema })];
}, 120_000);

afterAll(async () => {
  await Promise.all([getPool().end(), otherPool.end()]);
  await database?.stop();
});

/** Moves the key's window start `seconds` into the past, as if that time had gone by. */
const age = (key: string, seconds: number) =>
  processes[0].update(schema.requestRates).set({ windowStart: sql`window_start - make_interval(secs => ${seconds})` }).where(eq(schema.requestRates.key, key));

describe('REST API request rates', () => {
  it('two processes see one count per key, refused past the rate with the seconds left in the window', async () => {
    const [a, b] = processes;
    expect([await takeRequest(a, 'token:t1', 3), await takeRequest(b, 'token:t1', 3), await takeRequest(a, 'token:t1', 3)]).toEqual([null, null, null]);
    // the fourth, through either process, is one too many
    await age('token:t1', 15.1);
    for (const caller of [b, a]) {
      const wait = await takeRequest(caller, 'token:t1', 3);
      // 44.9 s left when aged; 44 once a loaded machine took more than 0.9 s for the calls
      expect(wait === 45 || wait === 44, `wait ${wait}`).toBe(true);
    }
    // another key counts on its own
    expect(await takeRequest(b, 'address:10.0.0.1', 3)).toBeNull();
    // a new window starts once the minute is over
    await age('token:t1', 45);
    expect(await takeRequest(a, 'token:t1', 3)).toBeNull();
  });

  it('counts concurrent requests of both processes exactly', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => takeRequest(processes[i % 2]!, 'token:busy', 7)));
    expect(answers.filter((w) => w === null)).toHaveLength(7);
    for (const wait of answers.filter((w) => w !== null)) expect(wait).toBeGreaterThanOrEqual(59);
  });
});
