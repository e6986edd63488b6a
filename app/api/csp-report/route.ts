/**
 * Where browsers report what the Content-Security-Policy refused (server/csp.ts names this in `report-uri`). Each report
 * is logged; with LEXICON_CSP_REPORT_FILE set (the browser tests set it) it is also appended there as a JSON line.
 */
import fs from 'node:fs';
import { BodyTooLarge, withCappedBody } from '@/server/limits';

export const dynamic = 'force-dynamic';

export async function POST(req: Request): Promise<Response> {
  let text: string;
  try {
    text = await (await withCappedBody(req, 16 * 1024)).text();
  } catch (err) {
    if (err instanceof BodyTooLarge) return new Response(null, { status: 413 });
    throw err;
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    return new Response(null, { status: 400 });
  }
  const body = (report as { 'csp-report'?: Record<string, unknown> })['csp-report'] ?? report;
  const summary = JSON.stringify(body).slice(0, 2000);
  console.warn(`[csp] refused: ${summary}`);
  const file = process.env.LEXICON_CSP_REPORT_FILE;
  if (file) fs.appendFileSync(file, `${summary}\n`);
  return new Response(null, { status: 204 });
}
