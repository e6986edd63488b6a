/**
 * Where sign-in may send the browser afterwards, and whether the session cookies are `Secure` (no next/* imports:
 * unit tests load this module alone).
 */

const BASE = 'http://local.invalid';

/**
 * `callbackUrl` as a path on this site, '/' when it is anything else. It is resolved the way a browser resolves it
 * (the WHATWG URL parser: tabs and newlines dropped, `\` read as `/`), so `//evil.example`, `/\evil.example`,
 * `/\t/evil`, `https://evil.example` and `javascript:…` all come back '/', and the path returned never starts with
 * `//` (which a browser would read as another host).
 */
export function localPath(callbackUrl: string | null | undefined, origin?: string): string {
  if (typeof callbackUrl !== 'string' || callbackUrl === '') return '/';
  let url: URL;
  try {
    url = new URL(callbackUrl, origin ?? BASE);
  } catch {
    return '/';
  }
  // an absolute URL of this very site (what Auth.js hands its redirect callback) keeps its path
  if (url.origin !== new URL(origin ?? BASE).origin) return '/';
  const path = `${url.pathname.replace(/^\/+/, '/')}${url.search}${url.hash}`;
  return path.startsWith('/') ? path : '/';
}

/**
 * Whether next-auth's cookies are `Secure` (and `__Secure-`/`__Host-` prefixed): when AUTH_URL (or NEXTAUTH_URL) is
 * https, else when the request came over https, as its x-forwarded-proto (a proxy's, or Next.js's own) or its URL
 * says. Every request of one deployment must answer alike, or a session cookie set under one name is looked for under
 * the other: so AUTH_URL, when set, decides alone.
 */
export function secureCookies(env: Record<string, string | undefined>, request?: { headers: Headers; url?: string } | null, headers?: Headers | null): boolean {
  const configured = env.AUTH_URL || env.NEXTAUTH_URL;
  if (configured) return configured.trim().toLowerCase().startsWith('https:');
  const h = request?.headers ?? headers;
  const proto = h?.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  if (proto) return proto === 'https';
  if (request?.url) {
    try {
      return new URL(request.url).protocol === 'https:';
    } catch {
      return false;
    }
  }
  return false;
}
