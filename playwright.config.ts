import os from 'node:os';
import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { SHARED_DIR } from './tests/shared';

// One port and data dir per run (set once here, inherited by the test workers), so runs never collide.
process.env.LEXICON_E2E_PORT ??= String(3100 + Math.floor(Math.random() * 800));
process.env.LEXICON_E2E_DATA ??= path.join(os.tmpdir(), `lexicon-e2e-${process.env.LEXICON_E2E_PORT}`);
const PORT = Number(process.env.LEXICON_E2E_PORT);
const DATA_DIR = process.env.LEXICON_E2E_DATA;
/** web processes of the server under test: more than one, as `npm start` runs on any multi-core machine */
process.env.LEXICON_WEB_PROCESSES ??= '2';
/** what the pages' Content-Security-Policy refused during the run (the server appends; tests/e2e/teardown.ts checks) */
process.env.LEXICON_E2E_CSP_REPORTS ??= path.join(DATA_DIR, 'csp-reports.jsonl');

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results',
  timeout: 120_000,
  workers: 1,
  // fails the run when any page's Content-Security-Policy refused something (a script, a style, an image, eval)
  globalTeardown: './tests/e2e/teardown.ts',
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium; Playwright never downloads a browser here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    // A fresh data dir: the embedded database, migrations and model registration all run as for a new user.
    command: `rm -rf ${DATA_DIR} && npm start`,
    url: `http://127.0.0.1:${PORT}/api/health`,
    timeout: 600_000,
    reuseExistingServer: false,
    // SIGTERM, so that `npm start` stops its PostgreSQL (in a process group of its own) rather than leaving it behind
    gracefulShutdown: { signal: 'SIGTERM', timeout: 30_000 },
    stdout: 'pipe',
    // LEXICON_DEMO=0: a fresh database would otherwise set up the stories260K demo (minutes of worker time)
    env: { LEXICON_DATA_DIR: DATA_DIR, LEXICON_MODELS_DIR: path.join(SHARED_DIR, 'models'), PORT: String(PORT), LEXICON_DEMO: '0', LEXICON_WEB_PROCESSES: process.env.LEXICON_WEB_PROCESSES, LEXICON_CSP_REPORT_FILE: process.env.LEXICON_E2E_CSP_REPORTS },
  },
});
