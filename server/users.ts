/** Accounts with email + password (argon2id). The first account becomes admin. */
import argon2 from 'argon2';
import { count, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '@/drizzle/schema';
import { withTransaction, type Db } from './db';

export type UserRow = typeof users.$inferSelect;
export type Role = UserRow['role'];

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

export async function setRole(db: Db, id: string, role: Role): Promise<void> {
  await db.update(users).set({ role }).where(eq(users.id, id));
}

export async function setDisabled(db: Db, id: string, disabled: boolean): Promise<void> {
  await db.update(users).set({ disabled }).where(eq(users.id, id));
}
