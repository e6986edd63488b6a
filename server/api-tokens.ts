/**
 * Personal access tokens for the REST API (/api/v1): `lex_` and 32 random bytes (base64url), of which only the SHA-256
 * is stored. The account page creates, lists and revokes them; a request's `Authorization: Bearer lex_...` makes it
 * act as the token's user with the user's role as it is now (read on each request, like a session's).
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { apiTokens, users } from '@/drizzle/schema';
import type { Viewer } from './authz';
import type { Db } from './db';
import { badInput, notFound, unauthenticated } from './errors';

export const TOKEN_PREFIX = 'lex_';
/** How many live (not revoked) tokens one account may hold. */
export const MAX_TOKENS_PER_USER = 20;

export const API_TOKEN_SCOPES = ['read', 'read-write'] as const;
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number];

export const createTokenInput = z.object({
  name: z.string().trim().min(1, 'give the token a name').max(100, 'the token name is longer than 100 characters'),
  scope: z.enum(API_TOKEN_SCOPES),
});

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new token for `userId`: the token itself is in the answer and nowhere else. */
export async function createApiToken(db: Db, userId: string, input: z.infer<typeof createTokenInput>) {
  const live = await db.$count(apiTokens, and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)));
  if (live >= MAX_TOKENS_PER_USER) throw badInput(`you have ${MAX_TOKENS_PER_USER} tokens already: revoke one first`);
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const [row] = await db
    .insert(apiTokens)
    .values({ userId, name: input.name, scope: input.scope, tokenHash: hashOf(token) })
    .returning({ id: apiTokens.id, name: apiTokens.name, scope: apiTokens.scope, createdAt: apiTokens.createdAt });
  return { ...row!, token };
}

/** The account's tokens, newest first, revoked ones included (with when). */
export async function listApiTokens(db: Db, userId: string) {
  return db
    .select({ id: apiTokens.id, name: apiTokens.name, scope: apiTokens.scope, createdAt: apiTokens.createdAt, lastUsedAt: apiTokens.lastUsedAt, revokedAt: apiTokens.revokedAt })
    .from(apiTokens)
    .where(eq(apiTokens.userId, userId))
    .orderBy(desc(apiTokens.createdAt), apiTokens.id);
}

/** Revokes one of the account's own tokens (revoking a revoked one is a no-op). */
export async function revokeApiToken(db: Db, userId: string, id: string): Promise<void> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)))
    .returning({ revokedAt: apiTokens.revokedAt });
  if (!row) throw notFound(`you have no token ${id}`);
}

export type TokenHolder = { tokenId: string; scope: ApiTokenScope; viewer: NonNullable<Viewer>; name: string | null; email: string | null };

/**
 * Who a bearer token acts for, with its scope; UNAUTHENTICATED for a malformed, unknown or revoked token or a
 * disabled account (a deleted account's tokens went with it). Marks the token used, to the minute (a write per
 * request would churn the row at every call of a busy notebook).
 */
export async function tokenHolder(db: Db, token: string): Promise<TokenHolder> {
  if (!token.startsWith(TOKEN_PREFIX)) throw unauthenticated(`the bearer token is not a Lexicon token (they start with "${TOKEN_PREFIX}")`);
  const [row] = await db
    .select({ tokenId: apiTokens.id, scope: apiTokens.scope, lastUsedAt: apiTokens.lastUsedAt, userId: users.id, role: users.role, name: users.name, email: users.email })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hashOf(token)), isNull(apiTokens.revokedAt), eq(users.disabled, false)));
  if (!row) throw unauthenticated('the token is unknown or revoked (or its account is disabled): create a new one on your account page');
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000)
    await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId));
  return { tokenId: row.tokenId, scope: row.scope, viewer: { id: row.userId, role: row.role }, name: row.name, email: row.email };
}
