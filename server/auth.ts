/**
 * next-auth: email + password (credentials, hence JWT sessions) and GitHub when configured.
 * The JWT only carries the user id; role and disabled are read from the database on every
 * request, so a role change or a disabled account takes effect at once.
 */
import { DrizzleAdapter } from '@auth/drizzle-adapter';
import NextAuth, { type DefaultSession } from 'next-auth';
import Credentials from 'next-auth/providers/credentials';
import { cookies } from 'next/headers';
import { cache } from 'react';
import GitHub from 'next-auth/providers/github';
import { accounts, sessions, users, verificationTokens } from '@/drizzle/schema';
import { getDb } from './db';
import { getUser, verifyCredentials, type Role } from './users';

declare module 'next-auth' {
  interface Session {
    user: { id: string; role: Role } & DefaultSession['user'];
  }
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => {
  const db = getDb();
  return {
    adapter: DrizzleAdapter(db, { usersTable: users, accountsTable: accounts, sessionsTable: sessions, verificationTokensTable: verificationTokens }),
    session: { strategy: 'jwt', maxAge: 30 * 24 * 60 * 60 },
    trustHost: true,
    pages: { signIn: '/signin' },
    providers: [
      Credentials({
        credentials: { email: { type: 'email' }, password: { type: 'password' } },
        async authorize(credentials) {
          if (typeof credentials?.email !== 'string' || typeof credentials.password !== 'string') return null;
          const user = await verifyCredentials(db, credentials.email, credentials.password);
          return user && { id: user.id, name: user.name, email: user.email };
        },
      }),
      ...(process.env.AUTH_GITHUB_ID && process.env.AUTH_GITHUB_SECRET ? [GitHub] : []),
    ],
    callbacks: {
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
  return jar.getAll().some((c) => c.name.includes('authjs.session-token')) ? auth() : null;
});
