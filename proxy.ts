/** Next.js Proxy: each page's Content-Security-Policy, with a fresh nonce (server/csp.ts). */
import type { NextRequest } from 'next/server';
import { cspProxy } from '@/server/csp';

export function proxy(request: NextRequest) {
  return cspProxy(request);
}

export const config = {
  matcher: [
    // pages only: not the API (next.config.mjs gives it a CSP of its own), static files, or link prefetches
    {
      source: '/((?!api/|_next/static|_next/image|favicon.ico|icon.svg).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
