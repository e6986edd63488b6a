/**
 * Next.js Proxy: each page's Content-Security-Policy, with a fresh nonce (server/csp.ts), and for anonymous readers of
 * a feature page its ETag, answering a revalidation that still holds with 304 before anything renders
 * (server/http-cache.ts).
 */
import { NextResponse, type NextRequest } from 'next/server';
import { cspProxy } from '@/server/csp';
import { getDb } from '@/server/db';
import { featureAddressOf, featurePageValidator, hasSessionCookie, ifNoneMatchHits, PUBLIC_REVALIDATE } from '@/server/http-cache';

export async function proxy(request: NextRequest) {
  const etag = await anonymousValidator(request);
  if (etag && ifNoneMatchHits(request.headers.get('if-none-match'), etag)) {
    // No Content-Security-Policy here: the browser keeps the stored response's headers for what a 304 leaves out,
    // so the cached page's scripts keep the nonce its stored policy names; a fresh nonce here would refuse them.
    return new NextResponse(null, { status: 304, headers: { etag, 'cache-control': PUBLIC_REVALIDATE } });
  }
  const response = cspProxy(request);
  if (etag) {
    response.headers.set('etag', etag);
    response.headers.set('cache-control', PUBLIC_REVALIDATE);
  }
  return response;
}

/** The ETag of an anonymous reader's full load of a feature page (not a client navigation's RSC payload), or null. */
async function anonymousValidator(request: NextRequest): Promise<string | null> {
  if (process.env.NODE_ENV !== 'production') return null; // development rebuilds without a new build id
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  if (request.headers.has('rsc') || hasSessionCookie(request.cookies.getAll().map((c) => c.name))) return null;
  const address = featureAddressOf(request.nextUrl.pathname);
  if (!address) return null;
  try {
    return await featurePageValidator(getDb(), address);
  } catch (err) {
    // caching saves work; it never takes a page down (the render reports a database that is gone its own way)
    console.error('[http-cache] no validator:', err instanceof Error ? err.message : err);
    return null;
  }
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
