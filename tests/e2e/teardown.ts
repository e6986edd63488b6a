/**
 * After the browser tests: every page ran under its Content-Security-Policy (server/csp.ts), and the browser reported
 * anything it refused to /api/csp-report, which the test server appends to LEXICON_E2E_CSP_REPORTS. Any report fails
 * the run: a refused script is a page that did not hydrate, a refused style a page drawn wrong.
 */
import fs from 'node:fs';

export default async function teardown() {
  const file = process.env.LEXICON_E2E_CSP_REPORTS;
  // reports are sent a moment after the refusal
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  if (!file || !fs.existsSync(file)) return;
  // (limits.spec.ts provokes one on purpose, on a page whose address says `csp-probe`)
  const reports = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line && !line.includes('csp-probe'));
  if (reports.length > 0) throw new Error(`the Content-Security-Policy refused ${reports.length} thing(s) during the browser tests:\n${reports.slice(0, 20).join('\n')}`);
}
