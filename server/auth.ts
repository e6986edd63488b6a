/**
 * next-auth: email + password (credentials, hence JWT sessions) and GitHub when configured.
 * The JWT only carries the user id; role and disabled are read from the database on every
 * request, so a role change or a disabled account takes effect at once.
 *
 * Sign-in backs off per account and per address (server/signin-throttle.ts): a refused try fails with the code
 * `wait-N` (N seconds to wait), and `busy` when argon2's queue is full; app/signin shows both. After sign-in the
 * browser goes to a path on this site only (server/safe-redirect.ts localPath). The cookies are `Secure` behind
 * HTTPS (AUTH_URL https, or the request's x-forwarded-proto / URL: secureCookies).
 */
import { DrizzleAdapter } from '@auth/drizzle-adapter';
import { eq } from 'drizzle-orm';
import NextAuth, { CredentialsSignin, type DefaultSession } from 'next-auth';
import Credentials from 'next-auth/providers/credentials';
import { cookies, headers } from 'next/headers';
import { cache } from 'react';
import GitHub from 'next-auth/providers/github';
import { accounts, sessions, users, verificationTokens } from '@/drizzle/schema';
import { getDb } from './db';
import { hasSessionCookie } from './http-cache';
import { cleanName } from './names';
import { Argon2Busy } from './passwords';
import { localPath, secureCookies } from './safe-redirect';
import { clientAddress } from './limits';
import { getUser, signInWithPassword, SignInThrottled, type Role } from './users';

declare module 'next-auth' {
  interface Session {
    user: { id: string; role: Role } & DefaultSession['user'];
  }
}

/** A sign-in refused before or after checking the password: the client reads `code` (wait-N, busy). */
class RefusedSignIn extends CredentialsSignin {
  constructor(code: string) {
    super();
    this.code = code;
  }
}

/** The request's headers where next-auth gives no request (auth() in a server component); none outside a request. */
async function requestHeaders(): Promise<Headers | null> {
  try {
    return await headers();
  } catch {
    return null;
  }
}

export const { handlers, auth, signIn, signOut } = NextAuth(async (request) => {
  const db = getDb();
  return {
    adapter: DrizzleAdapter(db, { usersTable: users, accountsTable: accounts, sessionsTable: sessions, verificationTokensTable: verificationTokens }),
    session: { strategy: 'jwt', maxAge: 30 * 24 * 60 * 60 },
    trustHost: true,
    useSecureCookies: secureCookies(process.env, request, request ? null : await requestHeaders()),
    pages: { signIn: '/signin' },
    providers: [
      Credentials({
        credentials: { email: { type: 'email' }, password: { type: 'password' } },
        async authorize(credentials, req) {
          if (typeof credentials?.email !== 'string' || typeof credentials.password !== 'string') return null;
          try {
            const user = await signInWithPassword(db, credentials.email, credentials.password, clientAddress(req?.headers));
            return user && { id: user.id, name: user.name, email: user.email };
          } catch (err) {
            if (err instanceof SignInThrottled) throw new RefusedSignIn(`wait-${err.retryAfterSeconds}`);
            if (err instanceof Argon2Busy) throw new RefusedSignIn('busy');
            throw err;
          }
        },
      }),
      ...(process.env.AUTH_GITHUB_ID && process.env.AUTH_GITHUB_SECRET ? [GitHub] : []),
    ],
    events: {
      /** An account made by an OAuth sign-in: its name normalised like a typed one (see server/names.ts). */
      async createUser({ user }) {
        const name = cleanName(user.name);
        if (user.id && name !== user.name) await db.update(users).set({ name }).where(eq(users.id, user.id));
      },
    },
    callbacks: {
      /** Only to this site, and never to `//host` or `/\host` (which browsers read as another host). */
      redirect({ url, baseUrl }) {
        return new URL(localPath(url, baseUrl), baseUrl).toString();
      },
      async jwt({ token }) {
        if (!token.sub) return null;
        const user = await getUser(db, token.sub);
        if (!user || user.disabled) return null;
        return { ...token, name: user.name, email: user.email, role: user.role };
      },
      session({ session, token }) {
        session.user.id = token.sub!;
        session.user.role = token.role as Role;
        return session;
      },
    },
  };
});

/**
 * The session of the request being handled, read once however many layouts, pages and callers ask for it. A request
 * without a session cookie has none: it skips Auth.js's request handling (a CSRF token and digests each time), which
 * was a good part of every anonymous page view.
 */
export const currentSession = cache(async () => {
  // cookies(), not the request's header: after a server action signs in or out, it holds the cookies set there
  const jar = await cookies();
  return hasSessionCookie(jar.getAll().map((c) => c.name)) ? auth() : null;
});
