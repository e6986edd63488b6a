/**
 * Signing up and in against a real PostgreSQL: backoff per account and per address (and the time it says to wait),
 * the same argon2 work for an unknown email, sign-up and team invitations that answer alike for known and unknown
 * emails, weak passwords, argon2's bounded queue, names (NFKC, invisible and bidi characters) and unique @handles
 * that a mention resolves to exactly one account.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, signInFailures, teamMembers, users } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { argon2Calls, argon2Queue } from '@/server/passwords';
import { throttle } from '@/server/signin-throttle';
import { createTeam } from '@/server/teams';
import { signInWithPassword, SignInThrottled, signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let ada: UserRow;
let bo: UserRow;

const HERE = '198.51.100.7';

beforeAll(async () => {
  database = await startTestDatabase();
  ada = await signUp({ name: 'Ada Lovelace', email: 'ada@example.org', password: 'correct horse' });
  bo = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

/** What a sign-in ends with: the user's id, null (wrong), or `wait N` (refused, N seconds). */
async function trySignIn(email: string, password: string, address: string | null = HERE): Promise<string | null> {
  try {
    return (await signInWithPassword(getDb(), email, password, address))?.id ?? null;
  } catch (err) {
    if (err instanceof SignInThrottled) return `wait ${err.retryAfterSeconds}`;
    throw err;
  }
}

/** Lets the locks on these keys run out now (as if the wait had passed), keeping the counts. */
async function expireLocks(): Promise<void> {
  await getDb().update(signInFailures).set({ lockedUntil: sql`clock_timestamp() - interval '1 second'` });
}

describe('backoff after failed sign-ins', () => {
  it('locks an account after FREE_FAILURES failures, says when to try again, and doubles the wait', async () => {
    expect(throttle.FREE_FAILURES).toBe(5);
    for (let i = 1; i < throttle.FREE_FAILURES; i++) expect(await trySignIn('ada@example.org', `wrong ${i}`, `192.0.2.${i}`)).toBeNull();
    // the failure that reaches the limit says how long to wait
    expect(await trySignIn('ada@example.org', 'wrong 5', '192.0.2.5')).toBe('wait 1');
    // while locked, even the right password from another address is refused, unchecked
    const verifies = argon2Calls.verify;
    expect(await trySignIn('ada@example.org', 'correct horse', '192.0.2.99')).toMatch(/^wait [1-9]/);
    expect(argon2Calls.verify).toBe(verifies);
    // each further failure doubles the wait: 2, 4, 8 s
    for (const wait of [2, 4, 8]) {
      await expireLocks();
      expect(await trySignIn('ADA@example.org ', 'wrong again', '192.0.2.6')).toBe(`wait ${wait}`);
    }
    const [row] = await getDb().select().from(signInFailures).where(eq(signInFailures.key, 'ada@example.org'));
    expect(row).toMatchObject({ kind: 'account', failures: 8 });
    // once the wait is over, the right password works and clears the account's count
    await expireLocks();
    expect(await trySignIn('ada@example.org', 'correct horse', '192.0.2.7')).toBe(ada.id);
    expect(await getDb().select().from(signInFailures).where(eq(signInFailures.key, 'ada@example.org'))).toEqual([]);
  });

  it('backs off an unknown email exactly like a known one', async () => {
    const answers = [];
    for (let i = 1; i <= throttle.FREE_FAILURES + 1; i++) answers.push(await trySignIn('nobody@example.org', `guess ${i}`, `192.0.2.${20 + i}`));
    expect(answers).toEqual([null, null, null, null, 'wait 1', 'wait 1']);
  });

  it('locks an address after FREE_FAILURES_PER_ADDRESS failures, whichever accounts they tried', async () => {
    const address = '203.0.113.50';
    const answers: (string | null)[] = [];
    for (let i = 1; i <= throttle.FREE_FAILURES_PER_ADDRESS; i++) answers.push(await trySignIn(`user${i}@example.org`, 'a guess', address));
    expect(answers.slice(0, -1).every((a) => a === null)).toBe(true);
    expect(answers.at(-1)).toBe('wait 1');
    // the right password of another account from that address waits too; from elsewhere it works
    expect(await trySignIn('bo@example.org', 'battery staple', address)).toMatch(/^wait [1-9]/);
    expect(await trySignIn('bo@example.org', 'battery staple', '203.0.113.51')).toBe(bo.id);
    // a success does not reset the address (an attacker's own account must not clear it)
    await expireLocks();
    expect(await trySignIn('user99@example.org', 'a guess', address)).toBe('wait 2');
  });

  it('starts counting again after the window without failures', async () => {
    await getDb()
      .update(signInFailures)
      .set({ lastFailureAt: sql`clock_timestamp() - interval '2 hours'`, lockedUntil: null })
      .where(eq(signInFailures.key, 'nobody@example.org'));
    expect(await trySignIn('nobody@example.org', 'one more', '192.0.2.40')).toBeNull();
    const [row] = await getDb().select().from(signInFailures).where(eq(signInFailures.key, 'nobody@example.org'));
    expect(row!.failures).toBe(1);
  });
});

describe('an unknown email', () => {
  it('costs one argon2 verify, like a known one, in about the same time', async () => {
    const time = async (email: string) => {
      const before = argon2Calls.verify;
      const start = performance.now();
      expect(await trySignIn(email, 'not the password', null)).toBeNull();
      const ms = performance.now() - start;
      expect(argon2Calls.verify - before, email).toBe(1);
      return ms;
    };
    await time('ghost@example.org'); // the dummy hash is made on first use
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time('bo@example.org'));
      unknown.push(await time(`ghost${i}@example.org`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
    const ratio = median(unknown) / median(known);
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
    await getDb().delete(signInFailures);
  });
});

describe('sign-up', () => {
  it('answers the same for a new email and a taken one, and leaves the taken account alone', async () => {
    const [before] = await getDb().select().from(users).where(eq(users.id, bo.id));
    const fresh = await callerFor(null).auth.signUp({ name: 'Cy', email: 'cy@example.org', password: 'quiet violet lamp' });
    const taken = await callerFor(null).auth.signUp({ name: 'Mallory', email: 'Bo@Example.org', password: 'quiet violet lamp' });
    expect(taken).toEqual(fresh);
    const [after] = await getDb().select().from(users).where(eq(users.id, bo.id));
    expect(after).toEqual(before);
    expect(await trySignIn('bo@example.org', 'quiet violet lamp', null)).toBeNull();
    expect(await trySignIn('cy@example.org', 'quiet violet lamp', null)).not.toBeNull();
  });

  it('refuses weak passwords with a message saying why', async () => {
    const attempt = (password: string, email = 'dee@example.org') => callerFor(null).auth.signUp({ name: 'Dee', email, password });
    await expect(attempt('short')).rejects.toThrow(/at least 8 characters/);
    await expect(attempt('password1')).rejects.toThrow(/one of the most common passwords/);
    await expect(attempt('ILoveYou1')).rejects.toThrow(/one of the most common passwords/);
    await expect(attempt('dee@example.org')).rejects.toThrow(/your email or your name/);
    expect(await getDb().select().from(users).where(eq(users.email, 'dee@example.org'))).toEqual([]);
  });

  it('refuses beyond argon2’s bounded queue with a clear "busy, try again"', async () => {
    const { concurrency, queue } = argon2Queue;
    argon2Queue.concurrency = 1;
    argon2Queue.queue = 1;
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => callerFor(null).auth.signUp({ name: `Q${i}`, email: `q${i}@example.org`, password: 'quiet violet lamp' })),
      );
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as { code: string; message: string });
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(refused).toHaveLength(3);
      for (const err of refused) {
        expect(err.code).toBe('TOO_MANY_REQUESTS');
        expect(err.message).toMatch(/busy checking passwords: try again/);
      }
    } finally {
      argon2Queue.concurrency = concurrency;
      argon2Queue.queue = queue;
    }
  });
});

describe('names and handles', () => {
  it('normalises names (NFKC) and refuses invisible and direction-control characters', async () => {
    await callerFor(null).auth.signUp({ name: 'Ｅｖｅ　Ｍｏｏｒｅ', email: 'eve@example.org', password: 'quiet violet lamp' });
    const [eve] = await getDb().select().from(users).where(eq(users.email, 'eve@example.org'));
    expect(eve!.name).toBe('Eve Moore');
    expect(eve!.handle).toBe('evemoore');
    for (const name of ['Ad\u200ba', 'Ada\u202e', '\u2066Ada\u2069', 'Ada\u00ad']) {
      await expect(callerFor(null).auth.signUp({ name, email: 'fake@example.org', password: 'quiet violet lamp' })).rejects.toThrow(
        /invisible or direction-control character/,
      );
    }
    expect(await getDb().select().from(users).where(eq(users.email, 'fake@example.org'))).toEqual([]);
  });

  it('gives two accounts with the same name distinct handles, and a mention notifies exactly one', async () => {
    const first = await signUp({ name: 'Sam Lee', email: 'sam1@example.org', password: 'quiet violet lamp' });
    const second = await signUp({ name: 'Sam Lee', email: 'sam2@example.org', password: 'quiet violet lamp' });
    const third = await signUp({ name: 'Sam  Lee', email: 'samlee@example.org', password: 'quiet violet lamp' });
    expect([first.handle, second.handle, third.handle]).toEqual(['samlee', 'samlee2', 'samlee3']);
    // an account made without a handle (an OAuth sign-in through the adapter) gets one from the database
    const [gh] = await getDb().insert(users).values({ name: 'Sam Lee', email: 'sam.gh@example.org', role: 'editor' }).returning();
    expect(gh!.handle).toBe('samlee4');
    const [nameless] = await getDb().insert(users).values({ name: null, email: 'octo.cat@example.org' }).returning();
    expect(nameless!.handle).toBe('octo.cat');

    await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 8 }], seed: 3 });
    const caller = callerFor(ada, { host: 'lexicon.test' });
    await caller.comment.post({ target: { kind: 'sae', saeId: (await saeId('synth', '1-res'))! }, body: 'What do you think, @SamLee2?' });
    const mentioned = await getDb().select({ userId: notifications.userId }).from(notifications).where(eq(notifications.kind, 'mention'));
    expect(mentioned.map((m) => m.userId)).toEqual([second.id]);
  });

  it('lets an account change its handle, not to one that is taken', async () => {
    const [sam] = await getDb().select().from(users).where(eq(users.email, 'sam1@example.org'));
    const me = callerFor(sam!);
    await expect(me.auth.updateProfile({ handle: '@SamLee2' })).rejects.toMatchObject({ code: 'CONFLICT', message: 'the handle @samlee2 is taken' });
    await expect(me.auth.updateProfile({ handle: 'sam lee' })).rejects.toThrow(/a handle is 1 to 64/);
    expect(await me.auth.updateProfile({ handle: '@Sam_L', name: 'Ｓａｍ L.' })).toEqual({ name: 'Sam L.', handle: 'sam_l' });
    await expect(me.auth.updateProfile({ name: 'Sam\u200b' })).rejects.toThrow(/invisible/);
  });
});

async function saeId(model: string, sae: string): Promise<string | undefined> {
  const { rows } = await getDb().execute<{ id: string }>(sql`select s.id from sae s join model m on m.id = s.model_id where m.slug = ${model} and s.slug = ${sae}`);
  return rows[0]?.id;
}

describe('team invitations', () => {
  it('answer the same for an email with an account and one without; the account joins when it accepts', async () => {
    const team = await createTeam(ada, { slug: 'lab', name: 'Lab' });
    const known = await callerFor(ada).team.invite({ teamId: team.id, email: 'Bo@example.org', role: 'editor' });
    const unknown = await callerFor(ada).team.invite({ teamId: team.id, email: 'newcomer@example.org', role: 'editor' });
    const blank = (r: { message: string; email: string }) => ({ ...r, email: '…', message: r.message.replace(r.email, '…') });
    expect(blank(known)).toEqual(blank(unknown));
    // the team's page shows both as invited, neither as a member yet
    const page = await callerFor(ada).team.get({ slug: 'lab' });
    expect(page.members.map((m) => m.name)).toEqual(['Ada Lovelace']);
    expect(page.invitations.map((i) => i.email).sort()).toEqual(['bo@example.org', 'newcomer@example.org']);
    expect((await callerFor(bo).team.get({ slug: 'lab' })).invitations).toEqual([]);

    // Bo sees the invitation and accepts it
    expect((await callerFor(bo).team.invitations()).map((i) => [i.slug, i.role, i.invitedBy])).toEqual([['lab', 'editor', 'Ada Lovelace']]);
    await callerFor(bo).team.acceptInvitation({ teamId: team.id });
    expect(await getDb().select({ role: teamMembers.role }).from(teamMembers).where(eq(teamMembers.userId, bo.id))).toEqual([{ role: 'editor' }]);
    await expect(callerFor(bo).team.acceptInvitation({ teamId: team.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // the newcomer signs up later, then finds it waiting; declining removes it
    await callerFor(null).auth.signUp({ name: 'Newcomer', email: 'newcomer@example.org', password: 'quiet violet lamp' });
    const [newcomer] = await getDb().select().from(users).where(eq(users.email, 'newcomer@example.org'));
    expect((await callerFor(newcomer!).team.invitations()).map((i) => i.slug)).toEqual(['lab']);
    await callerFor(newcomer!).team.declineInvitation({ teamId: team.id });
    expect(await callerFor(newcomer!).team.invitations()).toEqual([]);
    expect((await callerFor(ada).team.get({ slug: 'lab' })).invitations).toEqual([]);

    // only maintainers invite; inviting a member again is refused (their emails are on the page for maintainers)
    await expect(callerFor(bo).team.invite({ teamId: team.id, email: 'x@example.org' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerFor(ada).team.invite({ teamId: team.id, email: 'bo@example.org' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
