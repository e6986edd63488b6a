/**
 * The feature page (/{model}/{sae}/{index}) and its compute panels, against the server that playwright.config.ts
 * starts. The data is seeded here through the `lexicon` CLI (the fixture SAE on stories260K, a sampled corpus, its
 * dashboards, and one feature again with the ablation loss change), so this file needs nothing from other tests.
 * Screenshots go to test-results/screenshots/.
 */
import { expect, test } from '@playwright/test';
import { ensureSae, lexicon, MODEL, newPage, SAE, shot, signedIn, signUp, sql } from './support';

const run = Date.now().toString(36);

let feature: number;
let url: string;

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
  // A feature firing on a few percent of tokens, with the clearest peak; computed again with the ablation loss change.
  const [row] = await sql<{ index: number; corpus_id: string }>(
    `select f.index, r.corpus_id from feature f join sae s on s.current_run_id = f.run_id join dashboard_run r on r.id = s.current_run_id
     where s.slug = $1 and f.density between 0.005 and 0.1 order by f.max_act desc, f.index limit 1`,
    [SAE],
  );
  feature = row!.index;
  lexicon('dashboards', '--model', MODEL, '--sae', SAE, '--corpus', row!.corpus_id, '--features', String(feature), '--ablate');
  url = `/${MODEL}/${SAE}/${feature}`;
});

test('the feature page shows the label, statistics, histograms, logit weights and examples', async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(url);
  await expect(page.getByTestId('feature-title')).toContainText(`${MODEL}/${SAE}/${feature}`);
  await expect(page.getByTestId('feature-label')).toBeVisible();
  const stats = page.getByTestId('feature-stats');
  await expect(stats).toBeVisible();
  await expect(stats).toContainText('of 8,192 tokens');
  await expect(stats).toContainText('max activation');
  await expect(stats).toContainText('encoder bias');
  await expect(stats).toContainText('D/E projection');
  // The charts are drawn by Plotly once it has loaded.
  await expect(page.getByTestId('activation-histogram')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('logit-histogram')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('activation-histogram').locator('.main-svg').first()).toBeVisible();
  await expect(page.getByTestId('logit-top').locator('tr')).toHaveCount(10);
  await expect(page.getByTestId('logit-bottom').locator('tr')).toHaveCount(10);
  const top = page.getByTestId('top-examples').getByTestId('example');
  expect(await top.count()).toBeGreaterThan(0);
  await expect(top.first()).toBeVisible();
  await expect(page.getByTestId('quantiles')).toBeVisible();
  // The conventions are named: folded logit weights, top examples ranked by their maximum, BOS left out (and counted).
  await expect(page.getByTestId('logit-convention')).toHaveText(/final norm folded into W_U/);
  await expect(page.getByTestId('top-examples')).toContainText("ranked by each context’s maximum activation, BOS left out");
  await expect(page.getByTestId('stat-bos')).toHaveText(/^\d/);
  expect(await page.getByTestId('random-examples').getByTestId('example').count()).toBeGreaterThan(0);

  // The first example centres its peak: the outlined token's value is the feature's max activation.
  const first = top.first();
  const peak = first.locator('[tabindex="0"]');
  await expect(peak).toHaveCSS('font-weight', '700');
  const maxText = await page.getByTestId('stat-max').textContent();
  expect(Number(await peak.getAttribute('data-value'))).toBeCloseTo(Number(maxText), 2);

  // Hover shows the value; so does keyboard focus (the tooltip is the token's ::after, and its accessible name).
  await peak.hover();
  expect(await peak.getAttribute('aria-label')).toMatch(/act \d/);
  expect(await peak.getAttribute('aria-label')).toMatch(/ablated: Δloss/);
  await peak.focus();
  await expect(peak).toBeFocused();
  const tooltip = await peak.evaluate((el) => getComputedStyle(el, '::after').content);
  expect(tooltip).toContain('act');
  await expect(peak).toHaveAttribute('aria-label', /act \d/);
  // Arrow keys move along the line's tokens (those that fire or change the loss: the others are plain text).
  const peakPos = Number(await peak.getAttribute('data-pos'));
  const nextPos = await peak.evaluate((el) => {
    let next = el.nextElementSibling as HTMLElement | null;
    while (next && next.dataset.pos === undefined) next = next.nextElementSibling as HTMLElement | null;
    return next?.dataset.pos ?? null;
  });
  expect(Number(nextPos)).toBeGreaterThan(peakPos);
  await page.keyboard.press('ArrowRight');
  await expect(first.locator(':focus')).toHaveAttribute('data-pos', nextPos!);
  await shot(page, 'feature-page-focus', { fullPage: false });

  // The context expands to all its tokens and collapses again; the line's name says which tokens it shows.
  const tokens = first.getByRole('group');
  const windowed = { label: (await tokens.getAttribute('aria-label'))!, text: (await tokens.textContent())! };
  expect(windowed.label).toMatch(/, tokens \d+–\d+ of 128$/);
  await first.getByRole('button', { name: 'expand' }).click();
  // the page sent only the shown tokens: the whole context is fetched on the first "expand"
  await expect(first.getByRole('button', { name: 'collapse' })).toBeVisible();
  await expect(tokens).toHaveAttribute('aria-label', /, tokens 1–128 of 128$/);
  expect((await tokens.textContent())!.length).toBeGreaterThan(windowed.text.length);
  await first.getByRole('button', { name: 'collapse' }).click();
  await expect(tokens).toHaveText(windowed.text);
  await expect(tokens).toHaveAttribute('aria-label', windowed.label);

  // The SAELens config, and the neighbours.
  await page.getByText('SAELens config').click();
  await expect(page.getByTestId('sae-cfg')).toContainText('blocks.2.hook_resid_post');
  await expect(page.getByTestId('copy-link')).toBeVisible();
  await expect(page.getByTestId('permalink')).toHaveAttribute('href', url);
  await shot(page, 'feature-page');

  if (feature + 1 < 256) {
    await page.getByTestId('next-feature').click();
    await expect(page).toHaveURL(new RegExp(`/${feature + 1}$`));
    await expect(page.getByTestId('feature-title')).toContainText(`/${feature + 1}`);
  }
});

test('the feature page reads without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(url);
  await expect(page.getByTestId('feature-title')).toContainText(String(feature));
  await expect(page.getByTestId('feature-stats')).toContainText('of 8,192 tokens');
  await expect(page.getByTestId('logit-top').locator('tr')).toHaveCount(10);
  const examples = page.getByTestId('top-examples').getByTestId('example');
  expect(await examples.count()).toBeGreaterThan(0);
  await expect(examples.first()).toBeVisible();
  await expect(examples.first().locator('[data-pos]').first()).toBeVisible();
  await expect(page.getByTestId('quantiles')).toBeVisible();
  // the interval examples are a link away (with scripts, they are fetched when the section opens)
  await page.getByTestId('quantiles').locator('summary').click();
  await page.getByRole('link', { name: 'Show the interval examples' }).click();
  await expect(page).toHaveURL(/\?intervals=all#quantiles-h$/);
  await expect(page.getByTestId('quantiles').getByTestId('interval').first().getByTestId('example').first()).toBeVisible();
  await page.goBack();
  // charts say what they would show
  await expect(page.getByTestId('activation-histogram')).toContainText('Histogram of the');
  // the SAE's nearest features by decoder and by encoder cosine, each with its cosine to 3 decimals and a link
  const similar = page.getByTestId('similar-features');
  for (const kind of ['decoder', 'encoder']) {
    const rows = similar.getByTestId(`similar-own-${kind}`).locator('tr');
    await expect(rows).toHaveCount(10);
    await expect(rows.first().locator('td').last()).toHaveText(/^-?[01]\.\d{3}$/);
    await expect(rows.first().getByRole('link')).toHaveAttribute('href', new RegExp(`^/${MODEL}/${SAE}/\\d+$`));
  }
  await shot(page, 'feature-page-no-js', { charts: false });
  await context.close();
});

test('the example lines travel once: in the HTML, not the flight data; the interval examples come when opened', async ({ page }) => {
  const sent = await (await page.request.get(url)).text();
  const flight = [...sent.matchAll(/<script[^>]*>self\.__next_f\.push\([\s\S]*?<\/script>/g)].map((m) => m[0]).join('');
  const lines = (html: string) => (html.match(/<li data-testid=example>/g) ?? []).length;
  const [{ shown }] = await sql<{ shown: number }>(
    `select count(*)::int as shown from feature_example x join sae s on s.current_run_id = x.run_id
     where s.slug = $1 and x.feature_index = $2 and x.kind in ('top', 'random')`,
    [SAE, feature],
  );
  expect(shown).toBeGreaterThan(0);
  expect(lines(sent)).toBe(shown); // the top and random lines, and no interval lines until asked for
  expect(flight.length).toBeGreaterThan(0);
  expect(flight).not.toContain('data-pos');
  // so do the static sections (statistics, logit weights, similar features, the run line, the config): by key only
  const html = sent.replace(/<script[\s\S]*?<\/script>/g, '');
  for (const section of ['feature-stats', 'stat-density', 'logit-top', 'logit-convention', 'similar-own-decoder', 'sae-cfg']) {
    expect(html).toContain(`data-testid="${section}"`);
    expect(flight).not.toContain(section);
  }
  expect(html).toContain('final norm folded into W_U');
  expect(flight).not.toContain('final norm folded into W_U');
  expect(lines((await (await page.request.get(`${url}?intervals=all`)).text()))).toBeGreaterThan(shown);

  await page.goto(url);
  const quantiles = page.getByTestId('quantiles');
  await expect(quantiles).toContainText(/\(\d+ examples in \d+ intervals: random tokens with an activation in each\)/);
  await expect(quantiles.getByTestId('example')).toHaveCount(0);
  await quantiles.locator('summary').click();
  await expect(quantiles.getByTestId('interval').first().getByTestId('example').first()).toBeVisible();
  await expect(quantiles.getByTestId('example').first().locator('[data-pos]').first()).toBeAttached();
});

test('a client navigation to a feature page shows its examples, fetched for it', async ({ page }) => {
  const from = feature > 0 ? feature - 1 : feature + 1;
  await page.goto(`/${MODEL}/${SAE}/${from}`);
  await page.evaluate(() => ((window as Window & { stayed?: boolean }).stayed = true));
  await page.getByTestId(feature > 0 ? 'next-feature' : 'prev-feature').click();
  await expect(page.getByTestId('feature-title')).toContainText(`/${feature}`);
  const top = page.getByTestId('top-examples').getByTestId('example');
  await expect(top.first().locator('[data-pos]').first()).toBeVisible();
  expect(await page.evaluate(() => (window as Window & { stayed?: boolean }).stayed)).toBe(true); // no full load
  // the static sections came by key only: fetched for it too (./sections)
  await expect(page.getByTestId('stat-density')).toHaveText(/tokens\)$/);
  await expect(page.getByTestId('logit-top').locator('tr')).toHaveCount(10);
  await expect(page.getByTestId('sae-cfg')).toContainText('blocks.2.hook_resid_post');
  // and they work as the server's do: expand fetches the whole context
  await top.first().getByRole('button', { name: 'expand' }).click();
  await expect(top.first().getByRole('group')).toHaveAttribute('aria-label', /, tokens 1–128 of 128$/);
});

test('the lines route answers what the page names, checks it, and revalidates', async ({ request }) => {
  const [row] = await sql<{ run: string; version: string }>(
    `select f.run_id as run, f.xmin::text as version from feature f join sae s on s.current_run_id = f.run_id where s.slug = $1 and f.index = $2`,
    [SAE, feature],
  );
  const lines = (query: Record<string, string>) => `${url}/lines?${new URLSearchParams({ run: row!.run, v: row!.version, r: '18', ...query })}`;
  const ok = await request.get(lines({ lists: 'top,top.2' }));
  expect(ok.status()).toBe(200);
  const body = (await ok.json()) as Record<string, string>;
  expect(body.top).toContain('data-pos=');
  expect(body['top.2']!.match(/<li /g)).toHaveLength(2);
  const etag = ok.headers()['etag']!;
  expect(ok.headers()['cache-control']).toBe('private, no-cache');
  expect((await request.get(lines({ lists: 'top,top.2' }), { headers: { 'if-none-match': etag } })).status()).toBe(304);

  const stale = await request.get(lines({ lists: 'top', v: '1' }));
  expect(stale.status()).toBe(409);
  expect((await stale.json()).error).toMatch(/changed since the page was read/);
  const unknown = await request.get(lines({ lists: 'top,everything' }));
  expect(unknown.status()).toBe(400);
  expect((await unknown.json()).error).toMatch(/no example list named "everything"/);
  expect((await request.get(lines({ lists: 'top', r: '0' }))).status()).toBe(400);
  expect((await request.get(`/${MODEL}/no-such-sae/${feature}/lines?run=x&v=1&r=18&lists=top`)).status()).toBe(404);

  // the static sections' route revalidates the same way: their keys name their HTML
  const sections = await request.get(`${url}/sections`);
  expect(sections.status()).toBe(200);
  expect(((await sections.json()) as Record<string, string>).stats).toContain('data-testid="stat-density"');
  const sectionsTag = sections.headers()['etag']!;
  expect(sectionsTag).toMatch(/^W\/"/);
  expect(sectionsTag).not.toBe(etag);
  expect((await request.get(`${url}/sections`, { headers: { 'if-none-match': sectionsTag } })).status()).toBe(304);
  expect((await request.get(`${url}/sections`, { headers: { 'if-none-match': etag } })).status()).toBe(200);
  expect((await request.get(`/${MODEL}/no-such-sae/${feature}/sections`)).status()).toBe(404);
});

test('the page is usable on a phone', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(url);
  await expect(page.getByTestId('feature-stats')).toBeVisible();
  await expect(page.getByTestId('top-examples')).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Test your text' })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shot(page, 'feature-page-phone');
  await context.close();
});

test('an editor edits the label and description; hostile markdown is neutralised', async ({ browser }) => {
  const page = await signedIn(browser, 'Edith', { width: 1280, height: 720 });
  await page.goto(url);
  await page.getByTestId('edit-feature').click();
  await page.getByRole('textbox', { name: 'Label', exact: true }).fill(`fires on j ${run}`);
  await page.getByRole('textbox', { name: /^Description/ }).fill(
    [
      'Fires at the **start of words** beginning with j; see [[stories260K/e2e-l2/0]].',
      '',
      '<script>window.__pwned = 1</script>',
      '',
      '<img src="x" onerror="window.__pwned = 2">',
      '',
      '[a link](javascript:window.__pwned=3)',
      '',
      '| token | act |',
      '| --- | --- |',
      '| j | 7.7 |',
    ].join('\n'),
  );
  await page.getByRole('textbox', { name: 'Summary of the change' }).fill('first label');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await expect(page.getByLabel('Preview', { exact: true })).toContainText('start of words');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('feature-label')).toHaveText(`fires on j ${run}`);
  const description = page.getByTestId('feature-description');
  await expect(description.locator('strong')).toHaveText('start of words');
  await expect(description.locator('table')).toBeVisible();
  await expect(description.locator('a.feature-chip')).toHaveAttribute('href', '/stories260K/e2e-l2/0');
  // Nothing hostile survived: no script, no handler, no javascript: URL, and nothing ran.
  await expect(description.locator('script')).toHaveCount(0);
  await expect(description.locator('[onerror]')).toHaveCount(0);
  await expect(description.locator('img')).toHaveCount(0);
  for (const href of await description.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''))) {
    expect(href).not.toMatch(/^javascript:/i);
  }
  await page.reload();
  await expect(page.getByTestId('feature-label')).toHaveText(`fires on j ${run}`);
  // a reader who may not edit gets the description's HTML, not its markdown source
  const anonymous = await browser.newContext();
  const sent = await (await anonymous.request.get(url)).text();
  expect(sent).toContain('<strong>start of words</strong>');
  expect(sent).not.toContain('**start of words**');
  await anonymous.close();
  await description.getByText('a link').click().catch(() => undefined);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(page.getByText(/revision \d+ by Edith/)).toBeVisible();
  await shot(page, 'feature-edited');
  await page.context().close();
});

test('a stale edit is refused and both versions are shown; editing the current one keeps the draft', async ({ browser }) => {
  const ada = await signedIn(browser, 'Ada', { width: 1280, height: 720 });
  const bo = await signedIn(browser, 'Bo', { width: 1280, height: 720 });
  await ada.goto(url);
  await bo.goto(url);
  await ada.getByTestId('edit-feature').click();
  await bo.getByTestId('edit-feature').click();

  await bo.getByRole('textbox', { name: 'Label', exact: true }).fill(`Bo's label ${run}`);
  await bo.getByRole('textbox', { name: /^Description/ }).fill('Bo thinks this is about names.');
  await bo.getByRole('button', { name: 'Save', exact: true }).click();
  // the save, then the page's server render again: seconds on a loaded 2-core machine (CI once took over 5 s)
  await expect(bo.getByTestId('feature-label')).toHaveText(`Bo's label ${run}`, { timeout: 15_000 });

  await ada.getByRole('textbox', { name: 'Label', exact: true }).fill(`Ada's label ${run}`);
  await ada.getByRole('textbox', { name: /^Description/ }).fill('Ada thinks this is about the letter j.');
  await ada.getByRole('button', { name: 'Save', exact: true }).click();
  const conflict = ada.getByTestId('edit-conflict');
  await expect(conflict).toBeVisible({ timeout: 15_000 });
  await expect(conflict.getByTestId('conflict-theirs')).toContainText(`Bo's label ${run}`);
  await expect(conflict.getByTestId('conflict-theirs')).toContainText('Bo thinks this is about names.');
  await expect(conflict.getByTestId('conflict-mine')).toContainText(`Ada's label ${run}`);
  await expect(conflict.getByTestId('conflict-mine')).toContainText('Ada thinks this is about the letter j.');
  await expect(conflict).toContainText('by Bo');
  await shot(ada, 'feature-edit-conflict');

  // Nothing was overwritten (Bo still sees "Saved." on his revision).
  await expect(bo.getByTestId('feature-label')).toHaveText(`Bo's label ${run}`);
  await expect(bo.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  // Ada edits the current version instead: her draft stays beside the editor, which now holds Bo's text.
  await conflict.getByRole('button', { name: 'Edit the current version instead' }).click();
  const draft = ada.getByTestId('kept-draft');
  await expect(draft).toContainText(`Ada's label ${run}`);
  await expect(draft).toContainText('Ada thinks this is about the letter j.');
  await expect(ada.getByRole('textbox', { name: 'Label', exact: true })).toHaveValue(`Bo's label ${run}`);
  await shot(ada, 'feature-edit-kept-draft');
  await ada.getByRole('textbox', { name: 'Label', exact: true }).fill(`Ada's label ${run}`);
  await ada.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(ada.getByTestId('feature-label')).toHaveText(`Ada's label ${run}`, { timeout: 15_000 });
  // Ada's revision reaches Bo's open page live, and his "Saved." goes: it is no longer his revision on show.
  await expect(bo.getByTestId('feature-label')).toHaveText(`Ada's label ${run}`, { timeout: 15_000 });
  await expect(bo.getByText('Saved.')).toHaveCount(0);
  const revisions = await sql<{ label: string }>(
    `select r.label from feature_revision r join sae s on s.id = r.sae_id where s.slug = $1 and r.index = $2 order by r.revision`,
    [SAE, feature],
  );
  expect(revisions.map((r) => r.label).slice(-2)).toEqual([`Bo's label ${run}`, `Ada's label ${run}`]);
  await ada.context().close();
  await bo.context().close();
});

test('Test your text runs through the worker and shades the tokens', async ({ browser }) => {
  const page = await signedIn(browser, 'Tess', { width: 1280, height: 720 });
  await page.goto(url);
  const panel = page.getByTestId('panel-test');
  await expect(panel.getByRole('textbox', { name: 'Text' })).not.toHaveValue('');
  await panel.getByTestId('run-test').click();
  await expect(panel.getByTestId('test-job-state')).toHaveText('done', { timeout: 90_000 });
  const tokens = panel.getByTestId('test-tokens').locator('[data-pos]');
  expect(await tokens.count()).toBeGreaterThan(3);
  // The default text is the top example up to its peak, so the feature fires on it: the peak is outlined.
  await expect(panel.getByTestId('test-result')).toContainText('Fires on');
  const peak = panel.getByTestId('test-tokens').locator('[tabindex="0"]');
  expect(Number(await peak.getAttribute('data-value'))).toBeGreaterThan(0);
  await peak.focus();
  expect(await peak.evaluate((el) => getComputedStyle(el, '::after').content)).toContain('act');
  await shot(page, 'panel-test-your-text', { fullPage: false });

  // An empty text is refused before any job is made.
  await panel.getByRole('textbox', { name: 'Text' }).fill('   ');
  await panel.getByTestId('run-test').click();
  await expect(panel.getByRole('alert')).toContainText('empty');
  await page.context().close();
});

test('Ablate shows the loss change per token and the most changed logits', async ({ browser }) => {
  const page = await signedIn(browser, 'Abe', { width: 1280, height: 720 });
  await page.goto(url);
  await page.getByRole('tab', { name: 'Ablate' }).click();
  const panel = page.getByTestId('panel-ablate');
  await panel.getByTestId('run-ablate').click();
  await expect(panel.getByTestId('ablate-job-state')).toHaveText('done', { timeout: 90_000 });
  await expect(panel.getByTestId('ablate-result')).toBeVisible();
  expect(await panel.getByTestId('ablate-tokens').locator('[data-pos]').count()).toBeGreaterThan(3);
  expect(await panel.getByTestId('ablate-table').locator('tbody tr').count()).toBeGreaterThan(3);
  await expect(panel.getByTestId('ablate-logits').locator('tr')).toHaveCount(10);
  await shot(page, 'panel-ablate', { fullPage: false });

  // Job errors are shown: a position past the end of the text.
  await panel.getByLabel('Positions').fill('9999');
  await panel.getByTestId('run-ablate').click();
  await expect(panel.getByTestId('ablate-job-state')).toHaveText('failed', { timeout: 90_000 });
  await expect(panel.getByRole('alert')).toContainText('out of range');
  await page.context().close();
});

test('Steer plots the loss and a token logit against the coefficient', async ({ browser }) => {
  const page = await signedIn(browser, 'Stu', { width: 1280, height: 720 });
  await page.goto(url);
  await page.getByRole('tab', { name: 'Steer', exact: true }).click();
  const panel = page.getByTestId('panel-steer');
  await expect(panel.getByLabel('Target token')).not.toHaveValue('');
  await panel.getByLabel('From').fill('-8');
  await panel.getByLabel('To', { exact: true }).fill('8');
  await panel.getByLabel('Steps').fill('9');
  await panel.getByTestId('run-steer').click();
  await expect(panel.getByTestId('steer-job-state')).toHaveText('done', { timeout: 90_000 });
  await expect(panel.getByTestId('steer-plot')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(panel.getByTestId('steer-plot').locator('.main-svg').first()).toBeVisible();
  await expect(panel.getByTestId('steer-table').locator('tbody tr')).toHaveCount(9);
  await expect(panel.getByTestId('steer-table')).toContainText('logit');
  await shot(page, 'panel-steer', { fullPage: false });

  // An unknown target token is refused with a message.
  await panel.getByLabel('Target token').fill('no-such-token-piece');
  await panel.getByTestId('run-steer').click();
  await expect(panel.getByRole('alert')).toContainText('no token');
  await page.context().close();
});

test('Steer generation shows the default and the steered continuation side by side, with each token’s log-probs', async ({ browser }) => {
  const page = await signedIn(browser, 'Gen', { width: 1280, height: 800 });
  await page.goto(url);
  await page.getByRole('tab', { name: 'Steer generation' }).click();
  const panel = page.getByTestId('panel-generate');
  // it starts with this feature; a second one is one click away
  await expect(panel.getByLabel('Feature', { exact: true }).first()).toHaveValue(String(feature));
  await panel.getByLabel('Strength', { exact: true }).first().fill('30');
  await panel.getByTestId('generate-add').click();
  await expect(panel.getByTestId('generate-term')).toHaveCount(2);
  await panel.getByLabel('Feature', { exact: true }).nth(1).fill('3');
  await panel.getByLabel('Strength', { exact: true }).nth(1).fill('-5');
  await panel.getByLabel('Temperature').fill('0');
  await panel.getByLabel('Tokens', { exact: true }).fill('12');
  await panel.getByTestId('run-generate').click();
  await expect(panel.getByTestId('generate-job-state')).toHaveText('done', { timeout: 90_000 });

  for (const side of ['default', 'steered']) {
    // the prompt's tokens carry no value; each generated one its probability
    const tokens = panel.getByTestId(`generate-${side}`).locator('[data-pos]:not([data-value=""])');
    const generated = await tokens.count();
    expect(generated).toBeGreaterThan(0);
    expect(generated).toBeLessThanOrEqual(12);
    // a generated token's log-prob and the likeliest alternatives are its label, shown on focus
    const last = tokens.last();
    await last.focus();
    await expect(last).toHaveAttribute('aria-label', /log p -?\d.* · top: .+/);
    // and the same numbers in a table, one row per generated token
    await panel.getByText('Log-probabilities of every generated token').click();
    await expect(panel.getByTestId(`generate-${side}-table`).locator('tbody tr')).toHaveCount(generated);
    await panel.getByText('Log-probabilities of every generated token').click();
  }
  await panel.getByTestId('generate-steered').locator('[data-pos]').last().focus();
  await expect(panel.getByTestId('generate-steered').locator('[data-pos]').last()).toBeFocused();
  await shot(page, 'panel-generate', { fullPage: false });
  await page.context().close();
});

test('Recompute shows its progress and the page updates when it finishes', async ({ browser }) => {
  const page = await signedIn(browser, 'Rex', { width: 1280, height: 720 });
  // Make the stored data visibly stale, so the update is visible.
  await sql(
    `update feature f set max_act = 999 from sae s where s.slug = $1 and f.run_id = s.current_run_id and f.index = $2`,
    [SAE, feature],
  );
  await page.goto(url);
  await expect(page.getByTestId('stat-max')).toHaveText('999.000');
  await page.getByRole('tab', { name: 'Recompute' }).click();
  const panel = page.getByTestId('panel-recompute');
  await panel.getByTestId('recompute-dashboard').click();
  const state = panel.getByTestId('recompute-job-state');
  // queued or running with a progress bar, unless a quick worker finished before the panel's first poll
  await expect(state).toHaveText(/queued|running|done/);
  if ((await state.textContent()) !== 'done') await expect(panel.getByRole('progressbar').or(state.getByText('done'))).toBeVisible();
  // (a fast backend may finish between two polls)
  await expect(panel.getByTestId('recompute-job-state')).toHaveText(/running|done/, { timeout: 60_000 });
  await shot(page, 'panel-recompute-progress', { fullPage: false });
  await expect(panel.getByTestId('recompute-job-state')).toHaveText('done', { timeout: 180_000 });
  await expect(panel.getByTestId('recompute-updated')).toBeVisible();
  await expect(page.getByTestId('stat-max')).not.toHaveText('999.000', { timeout: 30_000 });
  await shot(page, 'panel-recompute-done', { fullPage: false });

  // The logit weights alone.
  await sql(
    `update feature f set encoder_bias = 42 from sae s where s.slug = $1 and f.run_id = s.current_run_id and f.index = $2`,
    [SAE, feature],
  );
  await page.reload();
  await expect(page.getByTestId('stat-encoder-bias')).toHaveText('42.0000');
  await page.getByRole('tab', { name: 'Recompute' }).click();
  await panel.getByTestId('recompute-logits').click();
  await expect(panel.getByTestId('recompute-job-state')).toHaveText('done', { timeout: 90_000 });
  await expect(page.getByTestId('stat-encoder-bias')).not.toHaveText('42.0000', { timeout: 30_000 });
  await page.context().close();
});

test('viewers read but cannot edit or recompute; visitors cannot run the panels', async ({ browser }) => {
  const page = await newPage(browser, { width: 1280, height: 720 });
  const email = await signUp(page, 'Vera');
  await sql(`update "user" set role = 'viewer' where email = $1`, [email]);
  await page.goto(url);
  await expect(page.getByTestId('current-user')).toContainText('viewer');
  await expect(page.getByTestId('edit-feature')).toHaveCount(0);
  await page.getByRole('tab', { name: 'Recompute' }).click();
  await expect(page.getByTestId('recompute-dashboard')).toBeDisabled();
  await expect(page.getByTestId('panel-recompute')).toContainText('editor role');
  await page.getByRole('tab', { name: 'Test your text' }).click();
  await expect(page.getByTestId('run-test')).toBeEnabled();
  await page.context().close();

  const anonymous = await browser.newPage();
  await anonymous.goto(url);
  await expect(anonymous.getByTestId('run-test')).toBeDisabled();
  await expect(anonymous.getByTestId('edit-feature')).toHaveCount(0);
  await anonymous.goto(`/${MODEL}/${SAE}/100000`);
  await expect(anonymous.getByText(/could not be found|404/i).first()).toBeVisible();
  await anonymous.goto(`/${MODEL}/${SAE}/abc`);
  await expect(anonymous.getByText(/could not be found|404/i).first()).toBeVisible();
  await anonymous.close();
});

test('keyboard: the panel tabs move with the arrow keys and focus is visible', async ({ page }) => {
  await page.goto(url);
  const tab = page.getByRole('tab', { name: 'Test your text' });
  await tab.focus();
  await page.keyboard.press('ArrowRight');
  const ablate = page.getByRole('tab', { name: 'Ablate' });
  await expect(ablate).toBeFocused();
  await expect(ablate).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('panel-ablate')).toBeVisible();
  const outline = await ablate.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
});
