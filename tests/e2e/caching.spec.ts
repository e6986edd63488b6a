/**
 * Anonymous reads of a feature page are cacheable (server/http-cache.ts, proxy.ts): an ETag with
 * `Cache-Control: public, no-cache`, 304 and no body when it still holds, a new ETag and the new content after a label
 * edit, a comment and a dashboard run; never for a signed-in reader, never for a private SAE. In the browser a second
 * visit revalidates (304) and the stored page still hydrates under the Content-Security-Policy it came with.
 */
import { expect, test, type APIRequestContext, type APIResponse } from '@playwright/test';
import { ensureSae, lexicon, MODEL, newPage, SAE, shot, signedIn, sql } from './support';

const FEATURE = 6;
const path = `/${MODEL}/${SAE}/${FEATURE}`;
const run = Date.now().toString(36);

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
});

test.describe.configure({ mode: 'serial' });

/** An anonymous GET of the feature page that must answer 200 with a public ETag; returns the ETag. */
async function fresh(request: APIRequestContext, ifNoneMatch?: string): Promise<{ etag: string; res: APIResponse }> {
  const res = await request.get(path, { headers: ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {} });
  expect(res.status()).toBe(200);
  const etag = res.headers()['etag'];
  expect(etag).toMatch(/^W\/"[\w-]{27}"$/);
  expect(res.headers()['cache-control']).toBe('public, no-cache');
  return { etag: etag!, res };
}

/** The next anonymous GET, revalidating `before`: a 200 with another ETag, since something shown changed. */
async function changed(request: APIRequestContext, before: string): Promise<{ etag: string; res: APIResponse }> {
  const next = await fresh(request, before);
  expect(next.etag).not.toBe(before);
  return next;
}

async function expectNotModified(request: APIRequestContext, etag: string): Promise<void> {
  const res = await request.get(path, { headers: { 'if-none-match': etag } });
  expect(res.status()).toBe(304);
  expect((await res.body()).length).toBe(0);
  expect(res.headers()['etag']).toBe(etag);
  // the stored response's policy (and its nonce) stays the browser's: a fresh nonce would refuse the stored scripts
  expect(res.headers()['content-security-policy']).toBeUndefined();
}

test('an anonymous feature page revalidates with 304 until a label edit, a comment or a dashboard run changes it', async ({ browser, request }) => {
  const [{ id: saeId, corpus_id: corpusId }] = await sql<{ id: string; corpus_id: string }>(
    'select s.id, r.corpus_id from sae s join dashboard_run r on r.id = s.current_run_id where s.slug = $1',
    [SAE],
  );
  let { etag, res } = await fresh(request);
  // compression stays on for the 200
  expect((await request.get(path, { headers: { 'accept-encoding': 'gzip' } })).headers()['content-encoding']).toBe('gzip');
  expect(res.headers()['content-security-policy']).toMatch(/'nonce-/);
  await expectNotModified(request, etag);

  const editor = await signedIn(browser, `Cache${run}`);
  const [{ revision }] = await sql<{ revision: number }>('select coalesce((select revision from feature_page where sae_id = $1 and index = $2), 0) as revision', [saeId, FEATURE]);
  const label = `cached label ${run}`;
  const edited = await editor.request.post('/api/trpc/feature.edit', {
    data: { json: { model: MODEL, sae: SAE, index: FEATURE, label, body: '', baseRevision: revision } },
  });
  expect(edited.status(), await edited.text()).toBe(200);
  ({ etag, res } = await changed(request, etag));
  expect(await res.text()).toContain(label);
  await expectNotModified(request, etag);

  const comment = `a cached comment ${run}`;
  const posted = await editor.request.post('/api/trpc/comment.post', {
    data: { json: { target: { kind: 'feature', saeId, index: FEATURE }, parentId: null, body: comment } },
  });
  expect(posted.status(), await posted.text()).toBe(200);
  ({ etag, res } = await changed(request, etag));
  expect(await res.text()).toContain(comment);

  // a recompute of the feature: its rows move into the current run
  lexicon('dashboards', '--model', MODEL, '--sae', SAE, '--corpus', corpusId, '--features', String(FEATURE));
  ({ etag } = await changed(request, etag));
  await expectNotModified(request, etag);

  // A signed-in reader sees per-user things: no public ETag, never a 304 for the anonymous page's.
  const mine = await editor.request.get(path, { headers: { 'if-none-match': etag } });
  expect(mine.status()).toBe(200);
  expect(mine.headers()['etag']).toBeUndefined();
  expect(mine.headers()['cache-control']).not.toContain('public');
  await editor.context().close();
});

test('a private SAE’s feature page is 404 for an anonymous reader, with no ETag and never 304', async ({ request }) => {
  const slug = 'e2e-cache-private';
  await ensureSae(slug);
  const [{ id }] = await sql<{ id: string }>('select id from sae where slug = $1', [slug]);
  await sql(`insert into resource_access (kind, resource_id, visibility) values ('sae', $1, 'private') on conflict (kind, resource_id) do update set visibility = 'private'`, [id]);
  for (const headers of [{}, { 'if-none-match': '*' }] as Record<string, string>[]) {
    const res = await request.get(`/${MODEL}/${slug}/0`, { headers });
    expect(res.status()).toBe(404);
    expect(res.headers()['etag']).toBeUndefined();
    expect(res.headers()['cache-control'] ?? '').not.toContain('public');
  }
  // so are its example lines (readable, it would answer 409: this SAE has no dashboard run to name)
  const lines = await request.get(`/${MODEL}/${slug}/0/lines?run=x&v=1&r=18&lists=top`);
  expect(lines.status()).toBe(404);
  expect(JSON.stringify(await lines.json())).not.toContain('data-pos');
});

test('in the browser a second visit revalidates (304) and the stored page hydrates under its CSP', async ({ browser }) => {
  const page = await newPage(browser);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const refused: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  const first = (await page.goto(path))!;
  expect(first.status()).toBe(200);
  const etag = (await first.allHeaders())['etag'];
  expect(etag).toBeTruthy();
  const sent: Record<string, string>[] = [];
  page.on('request', async (r) => {
    if (r.isNavigationRequest()) sent.push(await r.allHeaders());
  });
  const second = (await page.goto(path))!;
  await page.waitForLoadState('networkidle');
  expect(sent[0]?.['if-none-match'], 'the browser revalidated with the stored ETag').toBe(etag);
  // Chromium answers from its cache after a 304: the stored 200, or the 304 itself, depending on the report
  expect([200, 304]).toContain(second.status());
  // hydrated: a client component's button works
  await page.getByTestId('copy-link').click();
  await expect(page.getByTestId('copy-link')).toHaveText('Copied');
  expect(refused).toEqual([]);
  await shot(page, 'caching-feature-page-revalidated', { fullPage: false });
  await page.context().close();
});
