import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration tests share one embedded PostgreSQL per file; keep files in separate forks.
    pool: 'forks',
    // next-auth imports `next/server` without an extension; let Vite resolve it.
    server: { deps: { inline: ['next-auth'] } },
  },
});
