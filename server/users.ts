/** Accounts with email + password (argon2id). The first account becomes admin. */
import argon2 from 'argon2';
import { count, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '@/drizzle/schema';
import { audit } from './audit';
import { withTransaction, type Db } from './db';

export type UserRow = typeof users.$inferSelect;
export type Role = UserRow['role'];

/**
 * A user's name as pages show it, in SQL: their name, else their email's local part (which is also their @handle),
 * else "user" and the start of their id. `alias` is the "user" row's.
 */
export const displayNameText = (alias = 'u') =>
  `coalesce(nullif(${alias}.name, ''), nullif(split_part(${alias}.email, '@', 1), ''), 'user ' || left(${alias}.id, 8))`;
/** displayNameText for drizzle's sql`…` */
export const displayNameSql = (alias = 'u') => sql.raw(displayNameText(alias));

/** `@Ada Lovelace`, `adalovelace` → `adalovelace`: a handle as it is matched (no @, no spaces, any case). */
export const normaliseHandle = (handle: string) => handle.replace(/^@/, '').replace(/\s/g, '').toLowerCase();

/**
 * Whether the "user" row `alias` has one of these (normalised) handles: its name without spaces, or its email's
 * local part. Several accounts may share one.
 */
export function hasHandleSql(alias: string, handles: string[]): SQL {
  const u = sql.raw(alias);
  return sql`(lower(regexp_replace(coalesce(${u}.name, ''), '\\s', '', 'g')) in ${handles}
              or lower(split_part(coalesce(${u}.email, ''), '@', 1)) in ${handles})`;
}

export const signUpInput = z.object({
  name: z.string().trim().min(1, 'name is required').max(80, 'name is longer than 80 characters'),
  email: z.string().trim().toLowerCase().pipe(z.email('not a valid email address')),
  password: z.string().min(8, 'password must have at least 8 characters').max(200, 'password is longer than 200 characters'),
});

export class DuplicateEmailError extends Error {
  constructor(email: string) {
    super(`an account with email ${email} already exists`);
  }
}

export async function signUp(input: z.input<typeof signUpInput>): Promise<UserRow> {
  const { name, email, password } = signUpInput.parse(input);
  const passwordHash = await argon2.hash(password, { type: argon2.argon2id });
  return withTransaction(async (tx) => {
    // Serialise sign-ups so exactly one account can be the first (the admin).
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.signup'))`);
    if (await tx.query.users.findFirst({ where: eq(users.email, email) })) throw new DuplicateEmailError(email);
    const [{ n }] = await tx.select({ n: count() }).from(users);
    const role: Role = n === 0 ? 'admin' : 'editor';
    const [row] = await tx.insert(users).values({ name, email, passwordHash, role }).returning();
    return row!;
  });
}

/** The user for these credentials, or null (unknown email, wrong password, disabled, no password). */
export async function verifyCredentials(db: Db, email: string, password: string): Promise<UserRow | null> {
  const user = await db.query.users.findFirst({ where: eq(users.email, email.trim().toLowerCase()) });
  if (!user?.passwordHash || user.disabled) return null;
  return (await argon2.verify(user.passwordHash, password)) ? user : null;
}

export async function getUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.query.users.findFirst({ where: eq(users.id, id) });
}

/** A site-role or account change the site cannot take: unknown account, or the last active admin going away. */
export class UserChangeError extends Error {
  constructor(
    message: string,
    readonly code: 'NOT_FOUND' | 'CONFLICT',
  ) {
    super(message);
  }
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
    if (!before) throw new UserChangeError(`no account ${id}`, 'NOT_FOUND');
    const after = { role: change.role ?? before.role, disabled: change.disabled ?? before.disabled };
    if (before.role === 'admin' && !before.disabled && (after.role !== 'admin' || after.disabled)) {
      const [{ n }] = await tx.select({ n: count() }).from(users).where(sql`${users.role} = 'admin' and not ${users.disabled} and ${users.id} <> ${id}`);
      if (n === 0) throw new UserChangeError(`${before.name ?? before.email} is the only active admin: make someone else admin first`, 'CONFLICT');
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
