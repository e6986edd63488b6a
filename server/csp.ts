/**
 * Every page gets a Content-Security-Policy with a fresh nonce (Next.js's documented approach: it reads the nonce
 * from the request's CSP header while rendering and puts it on its own scripts, so hydration works while any other
 * inline script is refused). Pages are rendered per request anyway (the root layout reads the session). proxy.ts calls
 * this; it lives here so that `npm start` notices a change and rebuilds.
 *
 * - scripts: only those carrying the nonce, and what they load ('strict-dynamic': the chunks, Plotly on demand)
 * - styles: this site's, and inline ones: KaTeX sets `style` attributes, and Plotly writes its own <style>
 * - images: this site's and data: URLs; no frames of this site elsewhere (frame-ancestors)
 * - what the browser refuses it reports to /api/csp-report, which logs it
 */
import { NextResponse, type NextRequest } from 'next/server';

export function contentSecurityPolicy(nonce: string, dev = process.env.NODE_ENV === 'development'): string {
  return [
    `default-src 'self'`,
    // React's development build evaluates code for its error overlays; production never does
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? ` 'unsafe-eval'` : ''}`,
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self' data:`,
    `connect-src 'self'`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
    // what was refused is logged (app/api/csp-report)
    `report-uri /api/csp-report`,
  ].join('; ');
}

export function cspProxy(request: NextRequest): NextResponse {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  const nonce = btoa(String.fromCharCode(...bytes));
  const csp = contentSecurityPolicy(nonce);
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('content-security-policy', csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('content-security-policy', csp);
  return response;
}
