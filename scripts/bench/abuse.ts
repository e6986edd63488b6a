/**
 * `npm run bench:abuse`: what hostile clients do to everyone else (issue 10, "Show"). Prints figures and a table; not a
 * test. Talks to 127.0.0.1 only, each abuse bounded in time and count; removes what it made.
 *
 *   npm run bench:abuse [-- --no-build] [--seconds 8] [--sse 300] [--signins 200] [--batch 1000] [--body-mb 100] [--only a,b,c,d,e]
 *
 * A temporary embedded PostgreSQL (migrated) with a synthetic SAE, `next start` of a build of its own (.next-bench, as
 * bench:web), two accounts signed up and in through the API. Then, one at a time, while a probe asks GET /api/health
 * in a loop (p50/p99; goal: p99 under 200 ms) and fetches the feature page every second (goal: always 200):
 *   (a) hostile markdown comments posted through the API (2.5 KB of nested blockquotes, 4,000 nested lists, 4,000
 *       nested brackets and emphasis, a 2 KB nested \sqrt formula), each also previewed, then the feature page and its
 *       thread fetched repeatedly: refused (and with what) or accepted, and what readers got;
 *   (b) a 100 MB anonymous sign-up body, declared (Content-Length) and chunked: when the server answered, with what;
 *   (c) `--sse` anonymous SSE connections to the feature's live subscription, held for --seconds;
 *   (d) a burst of `--signins` failed sign-ins (a real account's email with wrong passwords, and unknown emails);
 *   (e) one tRPC batch of `--batch` calls (model.list).
 * A refusal (400, 413, 429, 431, a closed connection…) is the defence working, reported as such, never a bench error.
 * Finally the database is checked for consistency: every comment in a thread that exists, no orphan replies or links,
 * rows counted as expected, no transaction left open. Exit status 1 only when that check fails or the bench broke.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { getDb, getPool } from '@/server/db';
import { startTestDatabase, type TestDatabase } from '@/tests/helpers/database';
import { seedSyntheticModel } from '@/tests/helpers/synthetic';
import { buildWebApp, Client, HttpError, signIn, signUpAndIn, startNext, type NextServer } from './http';
import { amount, flag, integer, option } from './options';

// ---- options ----------------------------------------------------------------------------------------------------

const SECONDS = amount('seconds', 8, { positive: true });
const SSE = integer('sse', 300);
const SIGNINS = integer('signins', 200);
const BATCH = integer('batch', 1000);
const BODY_MB = amount('body-mb', 100, { positive: true });
const BUILD = !flag('no-build');
const ONLY = new Set(option('only', 'a,b,c,d,e').split(','));
const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST_DIR = '.next-bench';
const MODEL = 'abuse';
const SAE = '0-res';
const INDEX = 3;
const FEATURE_PATH = `/${MODEL}/${SAE}/${INDEX}`;
const HEALTH_GOAL_MS = 200;
const PASSWORD = 'abuse bench: Tq7 correct horse';

const started = Date.now();
const log = (line: string) => console.error(`[bench:abuse ${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
/** a server's message on one line */
const oneLine = (s: string) => s.replace(/\\n|\s+/g, ' ').replace(/[✖→]/g, '').replace(/ +/g, ' ').trim();
const errorText = (err: unknown) => {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
};

// ---- the probe --------------------------------------------------------------------------------------------------

interface ProbeFigures {
  health: number[];
  healthFailures: Map<string, number>;
  page: Map<string, number>;
}

/** GET /api/health back to back (one at a time), and the feature page once a second, until stopped. */
function startProbe(base: string): { stop(): Promise<ProbeFigures> } {
  const figures: ProbeFigures = { health: [], healthFailures: new Map(), page: new Map() };
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  let running = true;
  const health = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        figures.health.push(performance.now() - t0);
        if (res.status !== 200) count(figures.healthFailures, String(res.status));
      } catch (err) {
        figures.health.push(performance.now() - t0);
        count(figures.healthFailures, errorText(err));
      }
      await sleep(20);
    }
  })();
  const page = (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const res = await fetch(base + FEATURE_PATH, { signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        count(figures.page, String(res.status));
      } catch (err) {
        count(figures.page, errorText(err));
      }
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.all([health, page]);
      return figures;
    },
  };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const counts = (map: Map<string, number>) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}×${n}`)
    .join(' ') || '—';

interface Row {
  abuse: string;
  p50: number;
  p99: number;
  max: number;
  samples: number;
  healthFailures: string;
  page: string;
  pageOk: boolean;
  notes: string;
}

const rows: Row[] = [];
let benchErrors = 0;

/** Runs `abuse` under the probe (with `settle` ms of probing after it ends) and records a row. */
async function measure(base: string, name: string, abuse: () => Promise<string>, settleMs = 1000): Promise<void> {
  log(`${name}…`);
  const probe = startProbe(base);
  await sleep(200);
  let notes: string;
  const t0 = performance.now();
  try {
    notes = await abuse();
  } catch (err) {
    benchErrors++;
    notes = `BENCH ERROR: ${(err as Error).stack ?? err}`;
  }
  const took = performance.now() - t0;
  await sleep(settleMs);
  const f = await probe.stop();
  const row: Row = {
    abuse: name,
    p50: percentile(f.health, 50),
    p99: percentile(f.health, 99),
    max: Math.max(...f.health),
    samples: f.health.length,
    healthFailures: counts(f.healthFailures),
    page: counts(f.page),
    pageOk: [...f.page.keys()].every((k) => k === '200'),
    notes: `${notes} [${(took / 1000).toFixed(1)} s]`,
  };
  // The next abuse starts on a server that answers again (work the server still does for abandoned requests would
  // otherwise count against it): how long that took is part of this one's notes.
  const recovery = await recovered(base);
  if (recovery) row.notes += `; server answered health again ${recovery}`;
  rows.push(row);
  log(`  health p50 ${row.p50.toFixed(0)} ms, p99 ${row.p99.toFixed(0)} ms (${row.samples} probes${row.healthFailures === '—' ? '' : `, failed: ${row.healthFailures}`}); page ${row.page}; ${row.notes}`);
}

/** Waits (up to 10 min) until /api/health answers 200 within 1 s; '' when it did at once, else how long it took. */
async function recovered(base: string): Promise<string> {
  const t0 = performance.now();
  for (;;) {
    const ok = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return performance.now() - t0 < 1_500 ? '' : `${((performance.now() - t0) / 1000).toFixed(0)} s after it ended`;
    if (performance.now() - t0 > 600_000) return 'NOT within 10 min';
    await sleep(500);
  }
}

// ---- (a) hostile markdown -----------------------------------------------------------------------------------------

const HOSTILE: { name: string; body: string }[] = [
  { name: 'nested blockquotes, 2.5 KB', body: `${'>'.repeat(2500)} deep` },
  { name: '4,000 nested lists', body: `${'- '.repeat(4000)}deep` },
  { name: '4,000 nested brackets and emphasis', body: `${'[*'.repeat(4000)}deep${'*]'.repeat(4000)}` },
  { name: 'nested \\sqrt formula, 2 KB', body: `$$${'\\sqrt{'.repeat(290)}x${'}'.repeat(290)}$$` },
];

interface ThreadTarget {
  kind: 'feature';
  saeId: string;
  index: number;
}

/** Posts and previews `body`; then reads the page and the thread for --seconds. */
async function hostileComment(author: Client, reader: Client, target: ThreadTarget, body: string, accepted: string[]): Promise<string> {
  const notes: string[] = [`${(body.length / 1024).toFixed(1)} KiB`];
  try {
    await author.mutation('comment.preview', { body });
    notes.push('preview rendered');
  } catch (err) {
    notes.push(err instanceof HttpError ? `preview refused ${err.status} "${oneLine(err.detail).slice(0, 80)}"` : `preview failed: ${errorText(err)}`);
  }
  try {
    const comment = await author.mutation<{ id: string }>('comment.post', { target, parentId: null, body });
    accepted.push(comment.id);
    notes.push('post ACCEPTED (stored)');
  } catch (err) {
    notes.push(err instanceof HttpError ? `post refused ${err.status} "${oneLine(err.detail).slice(0, 80)}"` : `post failed: ${errorText(err)}`);
  }
  // what readers get meanwhile: the page (server-rendered, comments included or not) and the thread query
  const pages = new Map<string, number>();
  const threads = new Map<string, number>();
  const pageMs: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    const page = await reader.fetch(FEATURE_PATH).then(
      async (r) => (await r.arrayBuffer(), String(r.status)),
      (err) => errorText(err),
    );
    pageMs.push(performance.now() - t0);
    pages.set(page, (pages.get(page) ?? 0) + 1);
    const thread = await reader.query('comment.thread', target).then(
      () => '200',
      (err) => (err instanceof HttpError ? String(err.status) : errorText(err)),
    );
    threads.set(thread, (threads.get(thread) ?? 0) + 1);
  }
  notes.push(`reader: page ${counts(pages)} (p99 ${percentile(pageMs, 99).toFixed(0)} ms), thread ${counts(threads)}`);
  return notes.join('; ');
}

// ---- (b) a huge sign-up body ------------------------------------------------------------------------------------

/** POSTs a `mb` MB sign-up, 1 MB at a time, with or without Content-Length; stops sending once answered. */
function hugeSignUp(base: string, mb: number, declared: boolean): Promise<string> {
  const url = new URL(`${base}/api/trpc/auth.signUp`);
  const head = Buffer.from('{"json":{"name":"');
  const tail = Buffer.from('","email":"huge@example.org","password":"huge body password 123"}}');
  const chunk = Buffer.alloc(1 << 20, 'A');
  const total = mb * (1 << 20);
  const fill = total - head.length - tail.length;
  return new Promise((resolve) => {
    const t0 = performance.now();
    let sent = 0;
    let answered = false;
    const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base, ...(declared ? { 'content-length': String(total) } : {}) },
      },
      (res) => {
        answered = true; // stop sending
        let text = '';
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          const message = oneLine(/"message":"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 80));
          resolve(`${declared ? 'declared' : 'chunked'}: answered ${res.statusCode} "${message}" after ${(sent / (1 << 20)).toFixed(0)} MB sent, ${elapsed()}`);
          req.destroy();
        };
        res.on('data', (d: Buffer) => (text.length < 300 ? (text += d.toString()) : undefined));
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('no answer in 120 s')));
    req.on('error', (err) => {
      if (!answered) {
        answered = true; resolve(`${declared ? 'declared' : 'chunked'}: connection closed (${(err as NodeJS.ErrnoException).code ?? err.message}) after ${(sent / (1 << 20)).toFixed(0)} MB sent, ${elapsed()}`);
      }
    });
    const write = () => {
      if (sent === 0) {
        req.write(head);
        sent += head.length;
      }
      while (!answered && !req.destroyed && sent < head.length + fill) {
        const n = Math.min(chunk.length, head.length + fill - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
      }
      if (!answered && !req.destroyed) {
        req.end(tail);
        sent += tail.length;
      }
    };
    write();
  });
}

// ---- (c) many SSE connections -----------------------------------------------------------------------------------

async function manyStreams(base: string, n: number): Promise<string> {
  const input = encodeURIComponent(JSON.stringify({ json: { model: MODEL, sae: SAE, index: INDEX } }));
  const controller = new AbortController();
  const statuses = new Map<string, number>();
  let firstEvents = 0;
  const firstEventMs: number[] = [];
  const t0 = performance.now();
  const open = async () => {
    try {
      const res = await fetch(`${base}/api/trpc/live.feature?input=${input}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
      if (res.status !== 200 || !res.body) return void (await res.arrayBuffer().catch(() => undefined));
      const reader = res.body.getReader();
      let text = '';
      let seen = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return void statuses.set('closed by server', (statuses.get('closed by server') ?? 0) + 1);
        text += Buffer.from(value).toString();
        if (!seen && /\ndata: /.test(`\n${text}`)) {
          seen = true;
          firstEvents++;
          firstEventMs.push(performance.now() - t0);
          text = '';
        }
        if (text.length > 10_000) text = '';
      }
    } catch (err) {
      if (!controller.signal.aborted) statuses.set(errorText(err), (statuses.get(errorText(err)) ?? 0) + 1);
    }
  };
  const streams = Array.from({ length: n }, open);
  await sleep(SECONDS * 1000);
  const unanswered = n - [...statuses.values()].reduce((a, b) => a + b, 0);
  if (unanswered > 0) statuses.set(`no answer in ${SECONDS} s`, unanswered);
  controller.abort();
  await Promise.all(streams);
  return `${n} opened: ${counts(statuses)}; ${firstEvents} got a first event${firstEvents ? ` (p50 ${(percentile(firstEventMs, 50) / 1000).toFixed(1)} s, last ${(Math.max(...firstEventMs) / 1000).toFixed(1)} s)` : ''}; held ${SECONDS} s`;
}

// ---- (d) failed sign-ins ----------------------------------------------------------------------------------------

async function failedSignIns(base: string, n: number, victim: string): Promise<string> {
  const outcomes = new Map<string, number>();
  const ms: number[] = [];
  let next = 0;
  const deadline = Date.now() + Math.max(60_000, SECONDS * 5000);
  const worker = async () => {
    const client = new Client(base, 60_000);
    const { csrfToken } = (await (await client.fetch('/api/auth/csrf')).json()) as { csrfToken: string };
    while (next < n && Date.now() < deadline) {
      const i = next++;
      const email = i % 2 === 0 ? victim : `nobody${i}@example.org`;
      const t0 = performance.now();
      let outcome: string;
      try {
        const res = await client.fetch('/api/auth/callback/credentials', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrfToken, email, password: `wrong password ${i}`, callbackUrl: '/' }),
        });
        await res.arrayBuffer();
        const location = res.headers.get('location') ?? '';
        const code = /[?&](?:code|error)=([^&]+)/.exec(location)?.[1];
        outcome = `${res.status}${code ? ` ${decodeURIComponent(code)}` : ''}`;
      } catch (err) {
        outcome = errorText(err);
      }
      ms.push(performance.now() - t0);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  // and the victim, with the right password, right after
  let after: string;
  try {
    await signIn(new Client(base, 60_000), victim, PASSWORD);
    after = 'the account owner signs in right after';
  } catch (err) {
    after = `the account owner cannot sign in right after (${errorText(err).slice(0, 100)})`;
  }
  return `${ms.length} attempts (20 at a time, half a real account's email): ${counts(outcomes)}; each p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms; ${after}`;
}

// ---- (e) a huge tRPC batch --------------------------------------------------------------------------------------

async function hugeBatch(base: string, n: number): Promise<string> {
  const procs = Array.from({ length: n }, () => 'model.list').join(',');
  const url = `${base}/api/trpc/${procs}?batch=1&input=${encodeURIComponent('{}')}`;
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    const text = await res.text();
    let results = '';
    try {
      const body = JSON.parse(text);
      if (Array.isArray(body)) results = `, ${body.filter((r) => r.result).length} results, ${body.filter((r) => r.error).length} errors`;
      else results = `, "${(body.error?.json?.message ?? body.error?.message ?? '').slice(0, 80)}"`;
    } catch {
      results = `, "${text.slice(0, 80)}"`;
    }
    return `${n} calls in one GET (${(url.length / 1024).toFixed(0)} KiB URL): ${res.status}${results}, ${(text.length / 1024).toFixed(0)} KiB back in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  } catch (err) {
    return `${n} calls in one GET: ${errorText(err)} after ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  }
}

// ---- consistency ------------------------------------------------------------------------------------------------

async function consistency(url: string, expected: { users: number; featureComments: number; saeId: string }): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const problems: string[] = [];
  const lines: string[] = [];
  const one = async (sql: string, values: unknown[] = []) => Number(Object.values((await client.query(sql, values)).rows[0] ?? { n: 0 })[0]);
  try {
    const checks: [string, string, unknown[], number][] = [
      ['users', `select count(*) from "user"`, [], expected.users],
      ['comments on the feature (the accepted hostile ones)', `select count(*) from comment where sae_id = $1 and feature_index = $2`, [expected.saeId, INDEX], expected.featureComments],
      ['comments in no thread that exists', `select count(*) from comment c where (c.thread_kind = 'feature' and (c.sae_id is null or c.feature_index is null or not exists (select 1 from sae s where s.id = c.sae_id))) or (c.thread_kind = 'hypothesis' and not exists (select 1 from hypothesis h where h.id = c.hypothesis_id))`, [], 0],
      ['replies whose parent is missing or in another thread', `select count(*) from comment c where c.parent_id is not null and not exists (select 1 from comment p where p.id = c.parent_id and p.thread_kind = c.thread_kind and p.sae_id is not distinct from c.sae_id and p.feature_index is not distinct from c.feature_index and p.hypothesis_id is not distinct from c.hypothesis_id)`, [], 0],
      ['feature links from comments that do not exist', `select count(*) from feature_link l where l.source_kind = 'comment' and not exists (select 1 from comment c where c.id::text = l.source_id)`, [], 0],
      ['comment revisions beyond their comment', `select count(*) from comment_revision r join comment c on c.id = r.comment_id where r.revision > c.revision`, [], 0],
      ['transactions left open (idle in transaction)', `select count(*) from pg_stat_activity where state like 'idle in transaction%' and pid <> pg_backend_pid()`, [], 0],
    ];
    for (const [what, sql, values, want] of checks) {
      let got: number;
      try {
        got = await one(sql, values);
      } catch (err) {
        problems.push(`${what}: the check failed (${(err as Error).message})`);
        continue;
      }
      const ok = got === want;
      lines.push(`  ${ok ? 'ok  ' : 'FAIL'} ${what}: ${got}${ok ? '' : ` (expected ${want})`}`);
      if (!ok) problems.push(`${what}: ${got}, expected ${want}`);
    }
    const { rows } = await client.query<{ state: string | null; n: string }>(`select state, count(*) as n from pg_stat_activity where datname = current_database() group by 1 order by 2 desc`);
    lines.push(`  connections to the database now: ${rows.map((r) => `${r.state ?? 'background'} ${r.n}`).join(', ')}`);
  } finally {
    await client.end();
  }
  console.log(lines.join('\n'));
  return problems;
}

// ---- main -------------------------------------------------------------------------------------------------------

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => Math.min(r[i]!.length, i === header.length - 1 ? 10_000 : 60))));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

let database: TestDatabase | undefined;
let server: NextServer | undefined;
let problems: string[] = [];

async function cleanUp() {
  await server?.stop().catch(() => undefined);
  await getPool()
    .end()
    .catch(() => undefined);
  await database?.stop().catch(() => undefined);
}
process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));

try {
  database = await startTestDatabase();
  const model = await seedSyntheticModel(getDb(), { slug: MODEL, saes: [{ slug: SAE, hookName: 'blocks.0.hook_resid_post', dSae: 16 }], topExamples: 2 });
  const saeId = model.saes[0]!.id;
  log(`database ${new URL(database.url).host} (as ${new URL(database.url).username}), feature ${FEATURE_PATH}`);
  if (BUILD) {
    log(`building the web app into ${DIST_DIR} (next build)…`);
    buildWebApp(DIST_DIR);
  } else if (!fs.existsSync(path.join(ROOT, DIST_DIR, 'BUILD_ID'))) {
    throw new Error(`--no-build, but there is no build in ${DIST_DIR}`);
  }
  const serverLog = path.join(os.tmpdir(), `lexicon-bench-abuse-${process.pid}.log`);
  server = await startNext({ distDir: DIST_DIR, databaseUrl: database.url, logFile: serverLog });
  const base = server.url;
  log(`next start on ${base} (its output: ${serverLog})`);

  const admin = new Client(base, 120_000);
  await signUpAndIn(admin, { name: 'Abuse Admin', email: 'abuse-admin@example.org', password: PASSWORD });
  const author = new Client(base, 120_000);
  await signUpAndIn(author, { name: 'Abuse Author', email: 'abuse-author@example.org', password: PASSWORD });
  const reader = new Client(base, 60_000);
  const first = await reader.fetch(FEATURE_PATH);
  await first.arrayBuffer();
  if (first.status !== 200) throw new Error(`${FEATURE_PATH} answered ${first.status} before any abuse`);

  // warm-up: the first requests of a fresh server compile and cache
  for (let i = 0; i < 5; i++) await Promise.all([reader.fetch(FEATURE_PATH).then((r) => r.arrayBuffer()), fetch(`${base}/api/health`).then((r) => r.arrayBuffer())]);
  await measure(base, 'baseline (no abuse)', async () => {
    await sleep(SECONDS * 1000);
    return 'nothing else running';
  });
  const accepted: string[] = [];
  const target: ThreadTarget = { kind: 'feature', saeId, index: INDEX };
  if (ONLY.has('a')) for (const { name, body } of HOSTILE) await measure(base, `(a) comment: ${name}`, () => hostileComment(author, reader, target, body, accepted));
  if (ONLY.has('b')) await measure(base, `(b) ${BODY_MB} MB sign-up body`, async () => `${await hugeSignUp(base, BODY_MB, true)}; ${await hugeSignUp(base, BODY_MB, false)}`);
  if (ONLY.has('c')) await measure(base, `(c) ${SSE} anonymous SSE streams`, () => manyStreams(base, SSE), 3000);
  if (ONLY.has('d')) await measure(base, `(d) ${SIGNINS} failed sign-ins`, () => failedSignIns(base, SIGNINS, 'abuse-author@example.org'));
  if (ONLY.has('e')) await measure(base, `(e) tRPC batch of ${BATCH} calls`, () => hugeBatch(base, BATCH));
  await measure(base, 'after (no abuse)', async () => {
    await sleep(SECONDS * 1000);
    return 'nothing else running';
  });

  console.log(`\nAbuse against next start (${base}); health probed back to back, the feature page ${FEATURE_PATH} once a second`);
  console.log(
    table(
      ['abuse', 'health p50', 'health p99', 'max', `p99 < ${HEALTH_GOAL_MS} ms`, 'health failures', 'feature page', 'notes'],
      rows.map((r) => [
        r.abuse,
        `${r.p50.toFixed(0)} ms`,
        `${r.p99.toFixed(0)} ms`,
        `${r.max.toFixed(0)} ms`,
        r.p99 < HEALTH_GOAL_MS ? 'met' : 'NOT met',
        r.healthFailures,
        `${r.page}${r.pageOk ? '' : ' ←'}`,
        r.notes,
      ]),
    ),
  );
  if (ONLY.has('a')) console.log(`\nHostile comments stored: ${accepted.length} of ${HOSTILE.length}`);
  console.log('\nDatabase consistency');
  problems = await consistency(database.url, { users: 2, featureComments: accepted.length, saeId });
  const health = await fetch(`${base}/api/health`).then((r) => r.status, (err) => errorText(err));
  console.log(`  health at the end: ${health}`);
  if (health !== 200) problems.push(`health at the end: ${health}`);
  const missed = rows.filter((r) => /^\(/.test(r.abuse) && (r.p99 >= HEALTH_GOAL_MS || !r.pageOk)).map((r) => r.abuse);
  console.log(`\nGoals: health p99 < ${HEALTH_GOAL_MS} ms and the feature page 200 during every abuse: ${missed.length ? `NOT met during ${missed.join('; ')}` : 'met'}`);
  if (problems.length) console.log(`INCONSISTENT: ${problems.join('; ')}`);
} catch (err) {
  benchErrors++;
  console.error(err);
} finally {
  await cleanUp();
}
process.exit(problems.length || benchErrors ? 1 : 0);
