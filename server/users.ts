/**
 * Accounts with email + password (argon2id, through ./passwords' bounded queue). The first account becomes admin.
 *
 * - Sign-up answers the same whether or not the email already has an account (register): the existing account is
 *   not changed, and the person who owns it is not signed in unless they typed its password.
 * - A password must pass weakPasswordReason (length, not one of the 10,000 most common, not the email or name).
 * - Names are NFKC-normalised and may not hold invisible or direction-control characters (./names); each account has
 *   a unique @handle, the one thing a mention matches.
 * - Signing in (signInWithPassword) checks the per-account and per-address backoff first (./signin-throttle), and an
 *   unknown email costs the same argon2 work as a known one (a dummy hash).
 */
import { count, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '@/drizzle/schema';
import { audit } from './audit';
import { withTransaction, type Db } from './db';
import { conflict, notFound } from './errors';
import { displayNameInput, handleBase, handleInput, normaliseHandle } from './names';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyDummy, verifyPassword, weakPasswordReason } from './passwords';
import { checkSignInAllowed, clearAccountFailures, recordSignInFailure, SignInThrottled } from './signin-throttle';

export { normaliseHandle };

export type UserRow = typeof users.$inferSelect;
export type Role = UserRow['role'];

/**
 * A user's name as pages show it, in SQL: their name, else their @handle, else "user" and the start of their id.
 * `alias` is the "user" row's.
 */
export const displayNameText = (alias = 'u') =>
  `coalesce(nullif(${alias}.name, ''), nullif(${alias}.handle, ''), 'user ' || left(${alias}.id, 8))`;
/** displayNameText for drizzle's sql`…` */
export const displayNameSql = (alias = 'u') => sql.raw(displayNameText(alias));

/**
 * Whether the "user" row `alias` has one of these (normalised) handles. Handles are unique: each names at most one
 * account.
 */
export function hasHandleSql(alias: string, handles: string[]): SQL {
  const u = sql.raw(alias);
  return sql`${u}.handle in ${handles.length > 0 ? handles : ['']}`;
}

export const signUpInput = z
  .object({
    name: displayNameInput,
    email: z.string().trim().toLowerCase().pipe(z.email('not a valid email address')),
    password: z.string().max(MAX_PASSWORD_LENGTH, `password is longer than ${MAX_PASSWORD_LENGTH} characters`),
  })
  .superRefine((input, ctx) => {
    const reason = weakPasswordReason(input.password, input);
    if (reason) ctx.addIssue({ code: 'custom', path: ['password'], message: reason });
  });

export class DuplicateEmailError extends Error {
  constructor(email: string) {
    super(`an account with email ${email} already exists`);
  }
}

/** Creates an account; DuplicateEmailError when the email has one (see register for what sign-up answers). */
export async function signUp(input: z.input<typeof signUpInput>): Promise<UserRow> {
  const { name, email, password } = signUpInput.parse(input);
  const passwordHash = await hashPassword(password);
  return withTransaction(async (tx) => {
    // Serialise sign-ups so exactly one account can be the first (the admin), and handles are picked one at a time.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.signup'))`);
    if (await tx.query.users.findFirst({ where: eq(users.email, email) })) throw new DuplicateEmailError(email);
    const [{ n }] = await tx.select({ n: count() }).from(users);
    const role: Role = n === 0 ? 'admin' : 'editor';
    const { rows } = await tx.execute<{ handle: string }>(sql`select lexicon_free_handle(${handleBase(name, email)}) as handle`);
    const [row] = await tx.insert(users).values({ name, email, passwordHash, role, handle: rows[0]!.handle }).returning();
    return row!;
  });
}

/** What sign-up answers, the same for a new email and for one that already has an account. */
export const SIGN_UP_ANSWER = {
  ok: true,
  message: 'If this email had no account, it has one now: sign in with it. If it had one already, nothing was changed.',
} as const;

/**
 * Sign-up as the site offers it: creates the account when the email has none; when it has one, changes nothing and
 * answers the same (the argon2 work was done either way), so sign-up does not tell who has an account.
 */
export async function register(input: z.input<typeof signUpInput>): Promise<typeof SIGN_UP_ANSWER> {
  try {
    await signUp(input);
  } catch (err) {
    if (!(err instanceof DuplicateEmailError)) throw err;
  }
  return SIGN_UP_ANSWER;
}

/**
 * The user for these credentials, or null (unknown email, wrong password, disabled, no password). Every case costs
 * one argon2 verify: an email with no password hash is checked against a dummy hash.
 */
export async function verifyCredentials(db: Db, email: string, password: string): Promise<UserRow | null> {
  const user = await db.query.users.findFirst({ where: eq(users.email, email.trim().toLowerCase()) });
  if (!user?.passwordHash) return verifyDummy(password).then(() => null);
  const ok = await verifyPassword(user.passwordHash, password);
  return ok && !user.disabled ? user : null;
}

export { SignInThrottled };

/**
 * A sign-in with email and password from `address` (null: unknown): refused with SignInThrottled while the account
 * or the address is backing off (the password is not checked then); a failure counts against both, and says when to
 * try again when it starts a wait; a success clears the account's count.
 */
export async function signInWithPassword(db: Db, email: string, password: string, address: string | null): Promise<UserRow | null> {
  await checkSignInAllowed(db, email, address);
  const user = await verifyCredentials(db, email, password);
  if (user) {
    await clearAccountFailures(db, email);
    return user;
  }
  const wait = await recordSignInFailure(db, email, address);
  if (wait > 0) throw new SignInThrottled(wait);
  return null;
}

/** Changes an account's own name and handle; a handle someone else has is refused. */
export const profileInput = z.object({ name: displayNameInput.optional(), handle: handleInput.optional() });

const handleTaken = (handle: string) => conflict(`the handle @${handle} is taken`);

export async function updateProfile(db: Db, id: string, input: z.input<typeof profileInput>): Promise<Pick<UserRow, 'name' | 'handle'>> {
  const { name, handle } = profileInput.parse(input);
  return db.transaction(async (tx) => {
    if (handle !== undefined) {
      const taken = await tx.query.users.findFirst({ where: sql`${users.handle} = ${handle} and ${users.id} <> ${id}` });
      if (taken) throw handleTaken(handle);
    }
    const [row] = await tx
      .update(users)
      .set({ ...(name !== undefined && { name }), ...(handle !== undefined && { handle }) })
      .where(eq(users.id, id))
      .returning({ name: users.name, handle: users.handle })
      .catch((err: { code?: string; cause?: { code?: string } }) => {
        // two accounts taking the same free handle at once: the unique index decides
        if ((err.code ?? err.cause?.code) === '23505') throw handleTaken(handle!);
        throw err;
      });
    if (!row) throw notFound(`no account ${id}`);
    return row;
  });
}

export async function getUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.query.users.findFirst({ where: eq(users.id, id) });
}

/**
 * Changes an account (its site role, or whether it is disabled) with its audit row, in one transaction; refuses to
 * leave the site without an active admin. `actorId` is who did it (null: the command line or a test).
 */
async function changeUser(db: Db, id: string, change: { role?: Role; disabled?: boolean }, actorId: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    // One change of admins at a time, so two admins cannot demote each other at once.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.admins'))`);
    const [before] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!before) throw notFound(`no account ${id}`);
    const after = { role: change.role ?? before.role, disabled: change.disabled ?? before.disabled };
    if (before.role === 'admin' && !before.disabled && (after.role !== 'admin' || after.disabled)) {
      const [{ n }] = await tx.select({ n: count() }).from(users).where(sql`${users.role} = 'admin' and not ${users.disabled} and ${users.id} <> ${id}`);
      if (n === 0) throw conflict(`${before.name ?? before.email} is the only active admin: make someone else admin first`);
    }
    await tx.update(users).set(after).where(eq(users.id, id));
    const detail = { name: before.name, email: before.email };
    if (after.role !== before.role)
      await audit(tx, { actorId, action: 'user.role', targetKind: 'user', targetId: id, detail: { ...detail, before: before.role, after: after.role } });
    if (after.disabled !== before.disabled)
      await audit(tx, { actorId, action: 'user.disabled', targetKind: 'user', targetId: id, detail: { ...detail, before: before.disabled, after: after.disabled } });
  });
}

export async function setRole(db: Db, id: string, role: Role, actorId: string | null = null): Promise<void> {
  await changeUser(db, id, { role }, actorId);
}

export async function setDisabled(db: Db, id: string, disabled: boolean, actorId: string | null = null): Promise<void> {
  await changeUser(db, id, { disabled }, actorId);
}

/** Every account, oldest first (the admin page). */
export async function listUsers(db: Db): Promise<Pick<UserRow, 'id' | 'name' | 'email' | 'role' | 'disabled' | 'createdAt'>[]> {
  return db
    .select({ id: users.id, name: users.name, email: users.email, role: users.role, disabled: users.disabled, createdAt: users.createdAt })
    .from(users)
    .orderBy(users.createdAt, users.id);
}
