/**
 * Request limits, errors and headers against the real server (`next start`, as playwright.config.ts starts it):
 * security headers and a Content-Security-Policy under which every main page still hydrates (no refusals in the
 * console), 413 for oversized bodies before they are parsed, tRPC batches over the limit refused, internal errors
 * without SQL, forged cursors as BAD_REQUEST, the Origin check on mutations, Plotly hover text escaped, and the cap
 * on live streams from one address while /api/health stays fast.
 */
import fs from 'node:fs';
import http from 'node:http';
import { expect, test, type Page } from '@playwright/test';
import { ensureSae, MODEL, newPage, SAE, signedIn, sql } from './support';

const PORT = Number(process.env.LEXICON_E2E_PORT);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const run = Date.now().toString(36);

/** What the console says the CSP refused, and uncaught page errors (a page that failed to hydrate shows one). */
function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (execute|load|apply|evaluate|connect|frame|create)/i.test(m.text())) problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  return problems;
}

const input = (json: unknown) => encodeURIComponent(JSON.stringify({ json }));

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
});

test('pages and the API send the security headers, and no X-Powered-By', async ({ request }) => {
  const page = await request.get('/');
  const csp = page.headers()['content-security-policy'];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  expect(csp).not.toContain('unsafe-eval');
  expect(csp).toContain("img-src 'self' data:");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("style-src 'self' 'unsafe-inline'");
  expect((await request.get('/')).headers()['content-security-policy'], 'a fresh nonce per request').not.toBe(csp);
  const nonce = /'nonce-([^']+)'/.exec(csp!)![1]!;
  expect(await page.text(), "Next.js put the nonce on its scripts").toContain(`nonce="${nonce}"`);
  for (const res of [page, await request.get('/api/health'), await request.get(`/api/trpc/auth.me?input=${input(null)}`)]) {
    expect(res.headers()['x-content-type-options']).toBe('nosniff');
    expect(res.headers()['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(res.headers()['x-powered-by']).toBeUndefined();
  }
  expect((await request.get('/api/health')).headers()['content-security-policy']).toContain("default-src 'none'");
});

test('every main page hydrates under the CSP, with charts and formulas, and nothing refused', async ({ browser }) => {
  const [{ id: saeId }] = await sql<{ id: string }>('select id from sae where slug = $1', [SAE]);
  // Signing up works only once the page has hydrated (the form submits through tRPC).
  const page = await signedIn(browser, `Csp${run}`);
  const problems = watchConsole(page);
  // A formula in a comment: KaTeX's output carries inline styles.
  const posted = await page.request.post('/api/trpc/comment.post', {
    data: { json: { target: { kind: 'feature', saeId, index: 5 }, parentId: null, body: `Math ${run}: $\\sqrt{x^2+1}$` } },
  });
  expect(posted.status(), await posted.text()).toBe(200);

  for (const path of ['/', '/search?q=story', '/changes', '/hypotheses', '/lists', '/teams', '/notifications', `/${MODEL}`, `/${MODEL}/${SAE}/features`]) {
    await page.goto(path);
    await expect(page.locator('header.topbar')).toBeVisible();
    await page.waitForLoadState('networkidle');
  }
  await page.goto(`/${MODEL}/${SAE}`);
  for (const id of ['by-position', 'density-histogram', 'sae-scatter'])
    await expect(page.getByTestId(id)).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await page.goto(`/${MODEL}/${SAE}/5`);
  await expect(page.getByTestId('comment-thread').locator('.katex').first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('comment-thread')).toContainText(`Math ${run}`);
  // The client is live: the presence count arrives over the event stream.
  await page.waitForLoadState('networkidle').catch(() => undefined);

  const anonymous = await newPage(browser);
  problems.push(...watchConsole(anonymous));
  for (const path of ['/signin', '/signup', `/${MODEL}/${SAE}/5`]) {
    await anonymous.goto(path);
    await expect(anonymous.locator('header.topbar')).toBeVisible();
  }
  // Next.js's client runtime started (it would not under a CSP that refused its scripts)
  expect(await anonymous.evaluate(() => typeof (window as unknown as { next?: { version?: string } }).next?.version)).toBe('string');
  expect(problems).toEqual([]);
  await page.context().close();
  await anonymous.context().close();
});

test('an inline script injected into a page is refused, and the refusal reported', async ({ browser }) => {
  const page = await newPage(browser);
  const refusals: string[] = [];
  page.on('console', (m) => /Content Security Policy/i.test(m.text()) && refusals.push(m.text()));
  // The page as the server sent it (its CSP header included), with a script added to its HTML as stored XSS would.
  await page.route('**/?csp-probe=*', async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace('</body>', '<script>window.injected = true</script></body>');
    await route.fulfill({ response, body: html });
  });
  // `csp-probe` in the address: tests/e2e/teardown.ts does not count this page's report as a failure
  await page.goto(`/?csp-probe=${run}`);
  await expect(page.locator('header.topbar')).toBeVisible();
  await expect.poll(() => refusals.length).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
  const reports = process.env.LEXICON_E2E_CSP_REPORTS!;
  await expect.poll(() => (fs.existsSync(reports) ? fs.readFileSync(reports, 'utf8') : ''), { timeout: 15_000 }).toContain(`csp-probe=${run}`);
  await page.context().close();
});

test('Plotly shows a label with markup as text, not as markup', async ({ browser }) => {
  const label = `<b>bold</b><a href="javascript:alert(1)">x</a> ${run}`;
  await sql(
    `insert into feature_page (sae_id, index, label, revision) select id, 7, $2, 1 from sae where slug = $1
     on conflict (sae_id, index) do update set label = excluded.label`,
    [SAE, label],
  );
  const page = await newPage(browser);
  await page.goto(`/${MODEL}/${SAE}`);
  const scatter = page.getByTestId('sae-scatter');
  await expect(scatter).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  const texts = await scatter.locator('.js-plotly-plot').evaluate((gd) =>
    (gd as unknown as { data: { text?: string[] }[] }).data.flatMap((trace) => trace.text ?? []),
  );
  const shown = texts.find((t) => t.startsWith('#7 '));
  expect(shown).toBe(`#7 &#60;b&#62;bold&#60;/b&#62;&#60;a href=&#34;javascript:alert(1)&#34;&#62;x&#60;/a&#62; ${run}`);
  expect(await scatter.locator('a[href^="javascript"]').count()).toBe(0);
  await page.context().close();
});

/**
 * POSTs `total` bytes to `path` in 64 KiB chunks (declared with Content-Length, or chunked without one), pausing
 * between chunks so that an early answer is read before the next write: the status, or `closed` when the server cut
 * the connection first (it does not read the rest of a refused body).
 */
function postBytes(path: string, total: number, opts: { chunked: boolean; contentType: string }): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: number | 'closed') => {
      if (done) return;
      done = true;
      resolve(result);
      req.destroy();
    };
    const headers: Record<string, string> = { 'content-type': opts.contentType };
    if (opts.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(total);
    const req = http.request(`${ORIGIN}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      finish(res.statusCode!);
    });
    req.on('error', () => setTimeout(() => finish('closed'), 200)); // a response already on its way wins
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const next = () => {
      if (done) return;
      if (sent >= total) return void req.end();
      sent += chunk.length;
      req.write(chunk, () => setTimeout(next, 20));
    };
    next();
  });
}

test('a body over the limit is refused with 413 before it is parsed', async ({ request }) => {
  const MB = 1024 * 1024;
  // declared lengths over the limit are answered before the body is read
  expect(await postBytes('/api/trpc/auth.signUp', 100 * MB, { chunked: false, contentType: 'application/json' })).toBe(413);
  expect(await postBytes('/api/auth/callback/credentials', 5 * MB, { chunked: false, contentType: 'application/x-www-form-urlencoded' })).toBe(413);
  // a streamed body is cut off once it passes the limit
  expect([413, 'closed']).toContain(await postBytes('/api/trpc/auth.signUp', 20 * MB, { chunked: true, contentType: 'application/json' }));
  // a real sign-up whose name is 3 MB: refused, nothing stored
  const big = await request
    .post('/api/trpc/auth.signUp', {
      headers: { 'content-type': 'application/json' },
      data: JSON.stringify({ json: { name: 'x'.repeat(3 * MB), email: `big-${run}@example.org`, password: 'a long password' } }),
    })
    .then((res) => res.status(), () => 'closed');
  expect([413, 'closed']).toContain(big);
  expect((await request.get('/api/health')).status()).toBe(200);
  const [{ n }] = await sql<{ n: number }>('select count(*)::int as n from "user" where email = $1', [`big-${run}@example.org`]);
  expect(n).toBe(0);
});

test('a tRPC batch over the limit is refused', async ({ request }) => {
  const batch = (n: number) => `/api/trpc/${Array(n).fill('auth.me').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify({}))}`;
  expect((await request.get(batch(32))).status()).toBe(200);
  const refused = await request.get(batch(1000));
  expect(refused.status()).toBe(400);
});

test('an internal error tells an anonymous client an id, not the SQL', async ({ request }) => {
  // a table gone from under the server: the query fails with PostgreSQL's text, which names the table and the filter
  await sql('alter table hypothesis rename to hypothesis_limits_away');
  try {
    const res = await request.get(`/api/trpc/hypothesis.list?input=${input({ feature: `secret-${run}/x/1` })}`);
    expect(res.status()).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error.json.message).toMatch(/^internal error \([0-9a-f]{8}\)/);
    for (const leak of ['select', 'hypothesis_limits_away', `secret-${run}`, 'does not exist', 'stack']) expect(text.toLowerCase()).not.toContain(leak);
  } finally {
    await sql('alter table hypothesis_limits_away rename to hypothesis');
  }
});

test('a forged page cursor is a clean BAD_REQUEST', async ({ request }) => {
  const forged = Buffer.from('2026-13-45 99:00:00+00|00000000-0000-0000-0000-000000000000').toString('base64url');
  for (const [path, json] of [
    ['hypothesis.list', { before: forged }],
    ['wiki.changes', { after: forged }],
    ['wiki.changes', { after: 'not a cursor' }],
  ] as const) {
    const res = await request.get(`/api/trpc/${path}?input=${input(json)}`);
    expect(res.status(), path).toBe(400);
    expect((await res.json()).error.json.data.code).toBe('BAD_REQUEST');
  }
});

test('a mutation from another site, or an inputless one without Origin, is refused', async ({ request }) => {
  const markAllRead = (headers: Record<string, string>) => request.post('/api/trpc/notification.markAllRead', { headers: { 'content-type': 'application/json', ...headers }, data: '{}' });
  expect((await markAllRead({})).status(), 'no Origin').toBe(403);
  expect((await markAllRead({ origin: 'http://evil.example' })).status(), 'a foreign Origin').toBe(403);
  expect((await markAllRead({ origin: ORIGIN })).status(), 'this site (anonymous: not signed in)').toBe(401);
  const signUp = await request.post('/api/trpc/auth.signUp', {
    headers: { origin: 'http://evil.example' },
    data: { json: { name: 'Eve', email: `eve-${run}@example.org`, password: 'a long password' } },
  });
  expect(signUp.status()).toBe(403);
});

test('live streams from one address are capped, and /api/health stays fast meanwhile', async ({ request }) => {
  const url = `${ORIGIN}/api/trpc/live.feature?input=${input({ model: MODEL, sae: SAE, index: 3 })}`;
  const open: http.ClientRequest[] = [];
  const connect = () =>
    new Promise<number>((resolve, reject) => {
      const req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      open.push(req);
    });
  try {
    // the default cap is 256 per address, counted across the web processes (pages other tests left open count too:
    // they only add refusals): however the connections are shared among the processes, 40 more than that are refused
    const statuses = await Promise.all(Array.from({ length: 256 + 40 }, connect));
    const refused = statuses.filter((s) => s === 429).length;
    expect(statuses.every((s) => s === 200 || s === 429), statuses.join(',')).toBe(true);
    expect(refused, 'over the cap per address').toBeGreaterThanOrEqual(40);
    const started = Date.now();
    const health = await request.get('/api/health');
    expect(health.status()).toBe(200);
    expect(Date.now() - started, 'health while the streams are open').toBeLessThan(5_000);
  } finally {
    for (const req of open) req.destroy();
  }
  // Closed streams give their slots back.
  await expect
    .poll(async () => {
      const status = await connect();
      open.at(-1)!.destroy();
      return status;
    }, { timeout: 15_000 })
    .toBe(200);
});
