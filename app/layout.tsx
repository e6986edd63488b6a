import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { currentSession, signOut } from '@/server/auth';
import { UnreadCount } from './_components/unread-count';
import { Providers } from './trpc';
import './globals.css';
import { userHref } from '@/server/addresses';

export const metadata: Metadata = { title: 'Lexicon', description: 'A collaborative wiki for SAE features' };
export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await currentSession();
  return (
    <html lang="en">
      <body>
        <Providers>
        <header className="topbar">
          <Link href="/" className="brand">
            Lexicon
          </Link>
          <form action="/search" method="get" role="search" className="topsearch">
            <input type="search" name="q" aria-label="Search features" placeholder="Search labels, or model/sae/index" />
          </form>
          <nav>
            <Link href="/search">Search</Link>
            <Link href="/lists">Lists</Link>
            <Link href="/changes">Recent changes</Link>
            {session?.user && <Link href={userHref(session.user.id)}>Contributions</Link>}
            <Link href="/hypotheses">Hypotheses</Link>
            <Link href="/teams">Teams</Link>
            {session?.user?.role === 'admin' && <Link href="/admin/users">Admin</Link>}
            {session?.user && <UnreadCount />}
            {session?.user ? (
              <form
                action={async () => {
                  'use server';
                  await signOut({ redirectTo: '/' });
                }}
              >
                <span className="muted" data-testid="current-user">
                  {session.user.name ?? session.user.email} · {session.user.role}
                </span>{' '}
                <button type="submit" className="link">
                  Sign out
                </button>
              </form>
            ) : (
              <>
                <Link href="/signin">Sign in</Link> <Link href="/signup">Sign up</Link>
              </>
            )}
          </nav>
        </header>
          <main>{children}</main>
        </Providers>
      </body>
    </html>
  );
}
