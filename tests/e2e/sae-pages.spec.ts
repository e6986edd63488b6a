/**
 * The pages around the feature page: the labelling queue, the SAE overview (evals, charts, scatter selection), the
 * feature table (sorting, filters, keyset pages), search (text, token, address), lists, and the home and model pages
 * with labelling progress. Seeded through the `lexicon` CLI (the fixture SAE on stories260K, a sampled corpus and its
 * dashboards: the same workspace as feature.spec.ts, made here when missing). Labels are added through the queue.
 * Screenshots go to test-results/screenshots/ and each test checks its key elements are visible.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { ensureSae, MODEL, SAE, shot, signedIn as signedInAs, sql } from './support';

const run = Date.now().toString(36);
const LABELS = [`quote opener ${run}`, `story ending ${run}`, `name after Once ${run}`];

const signedIn = (browser: Browser, name: string) => signedInAs(browser, name, { width: 1366, height: 900 });

/** Every listed element is inside the viewport's width (nothing pushed off a phone screen) and visible. */
async function visibleAndInside(page: Page, testIds: string[]) {
  const width = page.viewportSize()!.width;
  for (const id of testIds) {
    const el = page.getByTestId(id).first();
    await expect(el, id).toBeVisible();
    const box = (await el.boundingBox())!;
    expect(box.x, `${id} starts inside the viewport`).toBeGreaterThanOrEqual(0);
    expect(box.x + Math.min(box.width, width), `${id} fits the viewport`).toBeLessThanOrEqual(width + 1);
  }
}

let labelled: number[] = [];

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
});

test.describe.configure({ mode: 'serial' });

test('the labelling queue saves with Enter, skips with Escape, and moves on', async ({ browser }) => {
  const page = await signedIn(browser, 'Quinn');
  await page.goto(`/${MODEL}/${SAE}/label?at=0`);
  const item = page.getByTestId('queue-item');
  await expect(item).toBeVisible();
  await expect(page.getByTestId('label-progress')).toContainText('labelled');
  await expect(item.getByTestId('example').first()).toBeVisible();
  const input = page.getByLabel('Label', { exact: true });
  await expect(input).toBeFocused();
  await shot(page, 'label-queue');

  for (const [i, label] of LABELS.entries()) {
    const heading = await item.getByRole('heading', { level: 2 }).textContent();
    const index = Number(/\/(\d+)/.exec(heading!)![1]);
    if (i === 1) {
      // Skip one with Escape first: the queue moves past it without saving.
      await page.keyboard.press('Escape');
      await expect(page).toHaveURL(new RegExp(`label\\?at=${index + 1}$`));
      await expect(item.getByRole('heading', { level: 2 })).not.toHaveText(heading!);
    }
    const current = Number(/\/(\d+)/.exec((await item.getByRole('heading', { level: 2 }).textContent())!)![1]);
    await page.getByLabel('Label', { exact: true }).fill(label);
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(new RegExp(`label\\?at=${current + 1}$`), { timeout: 15_000 });
    labelled.push(current);
  }
  const rows = await sql<{ index: number; label: string; revision: number }>(
    `select p.index, p.label, p.revision from feature_page p join sae s on s.id = p.sae_id where s.slug = $1 and p.label = any($2) order by p.index`,
    [SAE, LABELS],
  );
  expect(rows.map((r) => r.label).sort()).toEqual([...LABELS].sort());
  labelled = rows.map((r) => r.index);

  // A save based on an old revision is refused, not applied.
  await page.goto(`/${MODEL}/${SAE}/label?at=${labelled[0]}`);
  const shown = Number(/\/(\d+)/.exec((await item.getByRole('heading', { level: 2 }).textContent())!)![1]);
  expect(labelled).not.toContain(shown); // labelled features are not offered again
  await sql(`update feature_page set revision = revision + 1 where sae_id = (select id from sae where slug = $1) and index = $2`, [SAE, shown]).catch(() => undefined);
  await sql(
    `insert into feature_page (sae_id, index, label, revision) select id, $2, '', 1 from sae where slug = $1 on conflict do nothing`,
    [SAE, shown],
  );
  await page.getByLabel('Label', { exact: true }).fill('too late');
  await page.keyboard.press('Enter');
  await expect(page.locator('.error[role=alert]')).toContainText('Someone saved this feature');
});

test('the SAE overview shows evals with token counts, charts, the scatter and its selection', async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`/${MODEL}/${SAE}`);
  await expect(page.getByRole('heading', { name: `${MODEL}/${SAE}` })).toBeVisible();
  await expect(page.getByTestId('label-progress').first()).toContainText(`/ 256 labelled`);
  const evals = page.getByTestId('evals');
  await expect(evals).toContainText('variance explained (centred)');
  await expect(evals).toContainText('8,192 tokens');
  await expect(evals).toContainText('next-token predictions');
  for (const id of ['by-position', 'density-histogram', 'sae-scatter']) {
    await expect(page.getByTestId(id)).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await expect(page.getByTestId(id).locator('.main-svg').first()).toBeVisible();
  }
  await expect(page.getByTestId('feature-table')).toBeVisible();
  await shot(page, 'sae-overview');

  // Box-select the whole plotting area: the selected features are listed, with links to their pages.
  const scatter = page.getByTestId('sae-scatter');
  await scatter.hover();
  await scatter.locator('[data-title="Box Select"]').click();
  const area = (await scatter.locator('.nsewdrag').first().boundingBox())!;
  await page.mouse.move(area.x + 3, area.y + 3);
  await page.mouse.down();
  await page.mouse.move(area.x + area.width / 2, area.y + area.height / 2, { steps: 5 });
  await page.mouse.move(area.x + area.width - 3, area.y + area.height - 3, { steps: 5 });
  await page.mouse.up();
  const selection = page.getByTestId('selection');
  await expect(selection).toBeVisible();
  await expect(selection.getByRole('heading')).toContainText(/\d+ selected features?/);
  expect(await selection.locator('tbody tr').count()).toBeGreaterThan(5);
  await expect(selection.getByText(LABELS[0]!)).toBeVisible();
  // each listed feature's card, fetched for the shown ones
  await expect(selection.getByTestId('snippet').first().locator('mark')).not.toBeEmpty({ timeout: 30_000 });
  await expect(selection.getByTestId('top-tokens').first()).toContainText('raises');
  await shot(page, 'sae-overview-selection', { fullPage: false });

  // The other projections and the 3-D view.
  await page.getByRole('tab', { name: 'log density × encoder bias' }).click();
  await expect(scatter).toHaveAttribute('data-state', 'ready');
  await page.getByRole('tab', { name: '3-D' }).click();
  await expect(page.getByRole('tab', { name: '3-D' })).toHaveAttribute('aria-selected', 'true');
  await shot(page, 'sae-overview-3d', { fullPage: false });

  // On a phone: the page stacks, and nothing is pushed off screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/${MODEL}/${SAE}`);
  await expect(page.getByTestId('sae-scatter')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await visibleAndInside(page, ['label-progress', 'evals', 'density-histogram', 'sae-scatter']);
  await shot(page, 'sae-overview-phone');
});

/** Whether the page, and the feature table's own box, are wider than they show (they scroll sideways). */
const overflows = (page: Page) =>
  page.evaluate(() => {
    const box = document.querySelector('[data-testid=feature-table] .table-scroll')!;
    return { page: document.documentElement.scrollWidth > document.documentElement.clientWidth, table: box.scrollWidth > box.clientWidth };
  });

test('the feature table fits a 1300 px screen; narrower, it scrolls in its own box, not the page', async ({ browser }) => {
  // signed in: the rows have checkboxes too, the widest the table gets
  const page = await signedIn(browser, 'Wren');
  await page.setViewportSize({ width: 1300, height: 900 });
  await page.goto(`/${MODEL}/${SAE}/features`);
  const table = page.getByTestId('feature-table');
  await expect(table.locator('tbody input[type=checkbox]')).toHaveCount(50);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
  expect(await overflows(page)).toEqual({ page: false, table: false });
  for (const name of [/^max act/, /^D\/E cos/]) {
    const header = (await table.getByRole('columnheader', { name }).boundingBox())!;
    expect(header.x + header.width, `${name} ends inside the viewport`).toBeLessThanOrEqual(1300);
  }
  await shot(page, 'feature-table-1300');
  await page.setViewportSize({ width: 800, height: 900 });
  expect(await overflows(page)).toEqual({ page: false, table: true });
  await page.context().close();
});

test('the feature table sorts, filters and pages by keyset, all in the URL', async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`/${MODEL}/${SAE}/features`);
  const table = page.getByTestId('feature-table');
  await expect(table.locator('tbody tr')).toHaveCount(50);
  await expect(page.getByTestId('feature-count')).toContainText('256 features match');
  const firstPage = await table.locator('tbody tr td:first-child').allTextContents();
  await page.getByTestId('next-page').click();
  await expect(page).toHaveURL(/after=/);
  const secondPage = await table.locator('tbody tr td:first-child').allTextContents();
  expect(secondPage).toHaveLength(50);
  expect(secondPage.filter((f) => firstPage.includes(f))).toEqual([]);
  await page.getByRole('link', { name: '← Previous' }).click();
  await expect(table.locator('tbody tr td:first-child')).toHaveText(firstPage);

  // Filters through the form (GET): only labelled features, sorted by max activation.
  await page.locator('select[name=labelled]').selectOption('yes');
  await page.locator('select[name=sort]').selectOption('maxAct');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/labelled=yes/);
  await expect(page).toHaveURL(/sort=maxAct/);
  const labels = await table.locator('tbody tr td:nth-child(2)').allTextContents();
  for (const label of LABELS) expect(labels).toContain(label);
  const maxActs = (await table.locator('tbody tr td:nth-child(6)').allTextContents()).map(Number);
  expect(maxActs).toEqual([...maxActs].sort((a, b) => b - a));
  await shot(page, 'feature-table');

  // Dead features only: the density column says so, with the token count.
  await page.goto(`/${MODEL}/${SAE}/features?status=dead`);
  const count = await page.getByTestId('feature-count').textContent();
  if (!count!.startsWith('0 ')) await expect(table.locator('tbody tr').first()).toContainText('dead (0 / 8,192)');
  // Sorting by a column header flips the order.
  await page.goto(`/${MODEL}/${SAE}/features?sort=index&dir=asc`);
  await expect(table.locator('tbody tr td:first-child').first()).toHaveText('#0');
  await table.getByRole('link', { name: /^feature/ }).click();
  await expect(table.locator('tbody tr td:first-child').first()).toHaveText('#255');
  // Back to the table after a client navigation away: the rows travel only in a page's HTML, so it loads in full.
  await page.locator('header.topbar').getByRole('link', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/\/search$/);
  await page.goBack();
  await expect(table.locator('tbody tr')).toHaveCount(50);
  await expect(table.locator('tbody tr td:first-child').first()).toHaveText('#255');
  // A client navigation to the SAE page (the crumbs): its preview's rows come with it, with no reload.
  await page.evaluate(() => Object.assign(window, { stayed: true }));
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: SAE, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/${SAE}$`));
  await expect(table.locator('tbody tr')).toHaveCount(15);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
});

test('search finds labels (ranked), tokens and addresses', async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto('/');
  await page.getByRole('searchbox', { name: 'Search features' }).fill(`ending ${run}`);
  await page.keyboard.press('Enter');
  const results = page.getByTestId('text-results');
  await expect(results).toContainText(LABELS[1]!);
  await expect(results.locator('tbody tr').first()).toContainText(LABELS[1]!);
  await shot(page, 'search-text');

  // A prefix of a word matches while typing.
  await page.goto(`/search?q=${encodeURIComponent(`quot ${run}`)}`);
  await expect(results).toContainText(LABELS[0]!);

  // By token: both tables, with links to features.
  await page.goto(`/search?mode=token&model=${MODEL}&q=the`);
  const token = page.getByTestId('token-results');
  await expect(page.getByTestId('token-match')).toContainText(/the\s*is one token \(id \d+, exact piece\)/);
  await expect(page.getByTestId('token-firing').or(token.getByText('No feature')).first()).toBeVisible();
  await expect(page.getByTestId('token-logits').or(token.getByText('No feature has it')).first()).toBeVisible();
  await shot(page, 'search-token');

  // A word that is no piece: the tokens the model splits it into, as a word and inside a word, and features for each.
  await page.goto(`/search?mode=token&model=${MODEL}&q=ball`);
  const spellings = page.getByTestId('token-spellings').locator('li');
  await expect(page.getByTestId('token-match')).toContainText("No token's piece is ball");
  await expect(spellings).toHaveCount(2);
  // (toHaveText trims; the leading space of " b" shows in the piece's title)
  await expect(spellings.nth(0)).toContainText('as a word of its own, ball becomes 2 tokens');
  await expect(spellings.nth(0).locator('code.tok')).toHaveText(['ball', 'b', 'all']);
  await expect(spellings.nth(0).locator('code.tok').nth(1)).toHaveAttribute('title', /^token \d+: " b"$/);
  await expect(spellings.nth(1)).toContainText('inside a longer word, ball becomes 2 tokens');
  await expect(spellings.nth(1).locator('code.tok')).toHaveText(['ball', 'b', 'all']);
  await expect(spellings.nth(1).locator('code.tok').nth(1)).toHaveAttribute('title', /^token \d+: "b"$/);
  const firing = page.getByTestId('token-firing');
  await expect(firing.getByRole('columnheader', { name: 'token' }).or(token.getByText('No feature')).first()).toBeVisible();
  await shot(page, 'search-token-split');

  // Pieces containing the text, and hostile text: an error that says the limit.
  await page.goto(`/search?mode=token&match=substring&model=${MODEL}&q=HE`);
  await expect(page.getByTestId('token-match')).toContainText('12 tokens contain HE, ignoring case (showing 12)');
  await page.goto(`/search?mode=token&model=${MODEL}&q=${'x'.repeat(101)}`);
  await expect(page.getByTestId('token-error')).toHaveText('the token text is 101 characters long; token search takes at most 100');

  // An address opens the feature page.
  await page.goto(`/search?q=${encodeURIComponent(`[[${MODEL}/${SAE}/${labelled[0]}]]`)}`);
  await expect(page).toHaveURL(new RegExp(`/${MODEL}/${SAE}/${labelled[0]}$`));
});

test('lists: create one, add features with notes, and share it', async ({ browser }) => {
  const page = await signedIn(browser, 'Lena');
  await page.goto('/lists');
  await page.getByLabel('Name').fill(`Endings ${run}`);
  await page.getByLabel('Description').fill('Features about how stories end.');
  await page.getByRole('button', { name: 'Create list' }).click();
  await expect(page).toHaveURL(/\/lists\/[0-9a-f-]{36}$/);
  const listUrl = page.url();
  for (const [i, index] of labelled.slice(0, 2).entries()) {
    await page.getByLabel('Feature address').fill(`${MODEL}/${SAE}/${index}`);
    await page.getByLabel('Note', { exact: true }).fill(`note ${i}`);
    await page.getByRole('button', { name: 'Add to list' }).click();
    await expect(page.getByTestId('list-entries').locator('tbody tr')).toHaveCount(i + 1);
  }
  await page.getByLabel('Feature address').fill(`${MODEL}/${SAE}/9999`);
  await page.getByRole('button', { name: 'Add to list' }).click();
  await expect(page.locator('.error[role=alert]')).toContainText('has 256 features');
  await page.getByRole('button', { name: `Move ${MODEL}/${SAE}/${labelled[1]} up` }).click();
  await expect(page.getByTestId('list-entries').locator('tbody tr').first()).toContainText(`${MODEL}/${SAE}/${labelled[1]}`);
  await shot(page, 'list-owner');

  // Anyone with the link reads it.
  const anonymous = await (await browser.newContext()).newPage();
  await anonymous.goto(listUrl);
  await expect(anonymous.getByRole('heading', { name: `Endings ${run}` })).toBeVisible();
  await expect(anonymous.getByTestId('list-entries')).toContainText('note 0');
  await expect(anonymous.getByTestId('list-entries')).toContainText(LABELS[0]!);
  await shot(anonymous, 'list-shared');
});

test('the home page follows the jobs under way until they finish, without a reload', async ({ page }) => {
  // A job as a worker holds it (claimed by a live worker, so the orphan sweep leaves it alone), moved by hand.
  const [job] = await sql<{ id: string }>(
    `insert into job (id, type, status, params, model_id)
     select gen_random_uuid(), 'dashboards', 'queued', jsonb_build_object('saeId', s.id::text), m.id
       from sae s join model m on m.id = s.model_id where m.slug = $1 and s.slug = $2
     returning id`,
    [MODEL, SAE],
  );
  await page.goto('/');
  const item = page.locator(`[data-job-id="${job!.id}"]`);
  await expect(item).toContainText('queued');
  await expect(item.getByRole('link', { name: `${MODEL}/${SAE}` })).toBeVisible();
  await sql(
    `update job set status = 'running', started_at = now(), progress = 0.4,
            worker_id = (select id from worker order by last_seen desc limit 1) where id = $1`,
    [job!.id],
  );
  await expect(item).toContainText('40%');
  await sql(`update job set status = 'done', progress = 1, finished_at = now() where id = $1`, [job!.id]);
  await expect(item).toHaveCount(0);
});

test('the SAE page follows its dashboards job: shards done, tokens/s summed over the workers, time left', async ({ page }) => {
  // A job as its worker holds it (claimed by a live worker, so the orphan sweep leaves it alone), its progress written by hand.
  const detail = {
    phase: 'second pass: examples', unit: 'tokens', done: 30_000, total: 80_000, rate: 2400, etaSeconds: 21,
    tokensDone: 30_000, tokensTotal: 80_000, tokensPerSecond: 2400, shards: { done: 3, total: 8, running: 3, workers: 3 },
  };
  const [job] = await sql<{ id: string }>(
    `insert into job (id, type, status, params, model_id, progress, progress_detail, started_at, worker_id)
     select gen_random_uuid(), 'dashboards', 'running', jsonb_build_object('saeId', s.id::text), m.id, 0.375, $3::jsonb, now(),
            (select id from worker order by last_seen desc limit 1)
       from sae s join model m on m.id = s.model_id where m.slug = $1 and s.slug = $2
     returning id`,
    [MODEL, SAE, JSON.stringify(detail)],
  );
  await page.goto(`/${MODEL}/${SAE}`);
  const running = page.getByTestId('running-dashboards');
  await expect(running.getByTestId('dashboards-job')).toContainText(
    'second pass: examples · 3 / 8 shards done · 3 running on 3 workers · 30,000 / 80,000 tokens · 2400 tokens/s · about 21 s left',
  );
  await expect(running.getByTestId('dashboards-job')).toContainText('38%');
  await shot(page, 'sae-dashboards-shards', { fullPage: false });
  // when it ends, the section goes and the page shows the run the job completed (polled, no reload): here the current
  // run, given a completion time of its own in the same statement
  const [current] = await sql<{ id: string; completed_at: Date }>(
    `select r.id, r.completed_at from dashboard_run r join sae s on s.current_run_id = r.id join model m on m.id = s.model_id
      where m.slug = $1 and s.slug = $2`,
    [MODEL, SAE],
  );
  try {
    await sql(
      `with ended as (update job set status = 'done', progress = 1, finished_at = now() where id = $1)
       update dashboard_run set completed_at = '2031-02-03 04:05:00+00' where id = $2`,
      [job!.id, current!.id],
    );
    await expect(running).toHaveCount(0);
    await expect(page.getByText('computed 2031-02-03 04:05 UTC')).toBeVisible();
  } finally {
    await sql(`update dashboard_run set completed_at = $2 where id = $1`, [current!.id, current!.completed_at]);
  }
});

test('home and model pages show SAEs with labelling progress, recent edits and jobs; focus is visible', async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto('/');
  const progress = page.getByTestId('sae-progress');
  await expect(progress).toContainText(SAE);
  await expect(progress.getByRole('row', { name: new RegExp(SAE) }).getByTestId('label-progress')).toContainText(/[1-9]\d* \/ 256 labelled/);
  await expect(page.getByTestId('recent-activity')).toContainText(LABELS[2]!);
  await expect(page.getByTestId('running-jobs')).toBeVisible();
  await shot(page, 'home');

  await page.goto(`/${MODEL}`);
  const bySae = page.getByTestId('sae-progress');
  await expect(bySae).toContainText('blocks.2.hook_resid_post');
  await bySae.getByRole('link', { name: SAE }).click();
  await expect(page).toHaveURL(new RegExp(`/${MODEL}/${SAE}$`));
  await page.goto(`/${MODEL}`);
  await shot(page, 'model');

  // Keyboard focus is drawn: the first link gets a visible outline.
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return { tag: el.tagName, outline: style.outlineStyle, width: style.outlineWidth };
  });
  expect(outline.outline).not.toBe('none');
  expect(parseFloat(outline.width)).toBeGreaterThanOrEqual(2);

  // On a phone the home page fits.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/');
  await visibleAndInside(page, ['recent-activity', 'running-jobs']);
  await shot(page, 'home-phone');
});
