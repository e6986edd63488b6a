/**
 * The last items of the first hour (issue 15), in Chromium: an @mention in a posted comment is a highlighted link
 * to the account's page (and stays plain text in code); the feature page's Recompute panel shows tokens done of the
 * total with the time left while the job runs; and the SAE page's 3-D scatter fills its panel's width at 1280 and
 * 390 px, with its axis titles drawn inside the plot. Screenshots go to test-results/screenshots/.
 */
import { expect as baseExpect, test, type Page } from '@playwright/test';
import type { ProgressDetail } from '../../jobs/types';
import { describeProgress } from '../../app/_lib/progress';
import { ensureSae, MODEL, SAE, shot, signedIn, signUp, sql } from './support';

// pages refresh from the server after each post; on shared, busy machines that can take a few seconds
const expect = baseExpect.configure({ timeout: 20_000 });

let feature: number;

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
  // a feature of its own: other files discuss and recompute the most active ones
  const rows = await sql<{ index: number }>(
    `select f.index from feature f join sae s on s.current_run_id = f.run_id
     where s.slug = $1 and f.density between 0.001 and 0.2 order by f.max_act desc, f.index limit 50`,
    [SAE],
  );
  feature = rows.at(-5)!.index;
});

test('an @mention in a comment is a highlighted link to the account, and plain text in code', async ({ browser }) => {
  const page = await signedIn(browser, 'Pia');
  const mentioned = await browser.newContext().then((c) => c.newPage());
  const email = await signUp(mentioned, 'Quinn');
  await mentioned.context().close();
  const [quinn] = await sql<{ id: string; handle: string }>(`select id, handle from "user" where email = $1`, [email]);

  await page.goto(`/${MODEL}/${SAE}/${feature}`);
  const form = page.getByTestId('comment-thread').getByRole('form', { name: 'New comment' });
  await form.getByTestId('comment-input').fill(`Thanks @${quinn!.handle}! (not \`@${quinn!.handle}\` in code, nor @nobody-here)`);
  await form.getByTestId('comment-submit').click();
  await expect(form.getByTestId('comment-input')).toHaveValue('');

  const body = page.getByTestId('comment-body').filter({ hasText: 'nobody-here' }).last();
  const mention = body.locator('a.mention');
  await expect(mention).toHaveCount(1);
  await expect(mention).toHaveText(`@${quinn!.handle}`);
  await expect(mention).toHaveAttribute('href', `/users/${quinn!.id}`);
  await expect(body.locator('code')).toHaveText(`@${quinn!.handle}`);
  // highlighted: a background of its own, unlike the text around it
  const backgrounds = await mention.evaluate((a) => [getComputedStyle(a).backgroundColor, getComputedStyle(a.parentElement!).backgroundColor]);
  expect(backgrounds[0]).not.toBe(backgrounds[1]);
  expect(backgrounds[0]).not.toBe('rgba(0, 0, 0, 0)');
  await mention.scrollIntoViewIfNeeded();
  await shot(page, 'first-hour-mention', { fullPage: false });
  await mention.click();
  await expect(page).toHaveURL(new RegExp(`/users/${quinn!.id}$`));
  await page.context().close();
});

test('Recompute shows tokens done of the total and the time left while it runs', async ({ browser }) => {
  test.setTimeout(240_000);
  const page = await signedIn(browser, 'Rafa', { width: 1280, height: 900 });
  await page.goto(`/${MODEL}/${SAE}/${feature}`);
  await page.getByRole('tab', { name: 'Recompute' }).click();
  const panel = page.getByTestId('panel-recompute');
  // every progress line the panel shows while the job runs, kept as it changes (the page polls twice a second)
  await panel.evaluate((element) => {
    const seen: string[] = ((window as unknown as { progressLines: string[] }).progressLines = []);
    new MutationObserver(() => {
      const line = element.querySelector('.job-detail')?.textContent;
      if (line && seen.at(-1) !== line) seen.push(line);
    }).observe(element, { subtree: true, childList: true, characterData: true });
  });
  // and what the job's record said meanwhile, read ten times a second: a one-feature recompute takes a few seconds on a
  // quick machine, its passes between two of the page's polls, so the record is where every phase is sure to be seen
  const records: { status: string; detail: ProgressDetail | null }[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const [row] = await sql<{ status: string; detail: ProgressDetail | null }>(
        `select j.status, j.progress_detail as detail from job j join "user" u on u.id = j.user_id where u.name = 'Rafa' and j.type = 'dashboards' order by j.created_at desc limit 1`,
      );
      if (row) records.push(row);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await panel.getByTestId('recompute-dashboard').click();
  await expect(panel.getByTestId('recompute-job-state')).toHaveText(/running|done/, { timeout: 60_000 });
  await shot(page, 'first-hour-recompute-progress', { fullPage: false });
  await expect(panel.getByTestId('recompute-job-state')).toHaveText('done', { timeout: 180_000 });
  watching = false;
  await watch;

  // tokens done of the total, the rate and the time left (with the shards done: a recompute is its passes and their merge)
  const withTokens = /^[a-z][^·]*(?: · \d+ \/ \d+ shards done(?: · \d+ running on \d+ workers?)?)? · [\d,]+ \/ [\d,]+ tokens · \d+ tokens\/s · about \d+ (s|min \d+ s) left$/;
  // any progress line: a phase, then what of it is known yet (a pass's first report has no rate nor time left)
  const anyLine = /^[a-z][^·]*(?: · \d+ \/ \d+ shards done(?: · \d+ running on \d+ workers?)?)?(?: · [\d,]+ \/ [\d,]+ (tokens|features))?(?: · [\d.]+ (tokens|features)\/s)?(?: · about \d+ (s|min \d+ s) left)?$/;
  const running = records.filter((r) => r.status === 'running' && r.detail).map((r) => describeProgress(r.detail!));
  expect(running.filter((line) => withTokens.test(line)).length, running.join('\n')).toBeGreaterThan(0);
  // what the page showed of it (on a loaded machine its polls may fall before and after the passes: sae-pages.spec
  // checks the line itself on a job held running), each line one of those
  const lines = await page.evaluate(() => (window as unknown as { progressLines: string[] }).progressLines);
  for (const line of [...running, ...lines]) expect(line).toMatch(anyLine);
  await page.context().close();
});

/**
 * The dark pixels on the outermost three pixels of each side of the 3-D scene: its axis titles and tick labels are
 * drawn by WebGL (nothing of them is in the DOM), so a title cut off by the chart's edge shows as ink there.
 */
async function inkAtEdges(page: Page, canvas: { x: number; y: number; width: number; height: number }) {
  const png = await page.screenshot({ clip: canvas });
  // decoded in a blank page: the site's Content-Security-Policy refuses data: URLs
  const blank = await page.context().newPage();
  return blank.evaluate(async (b64) => {
    const image = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const context = new OffscreenCanvas(image.width, image.height).getContext('2d')!;
    context.drawImage(image, 0, 0);
    const { data, width, height } = context.getImageData(0, 0, image.width, image.height);
    const dark = (x: number, y: number) => data[4 * (y * width + x)]! + data[4 * (y * width + x) + 1]! + data[4 * (y * width + x) + 2]! < 600;
    const ink = { left: 0, right: 0, top: 0, bottom: 0 };
    for (let k = 0; k < 3; k++) {
      for (let y = 0; y < height; y++) (ink.left += +dark(k, y)), (ink.right += +dark(width - 1 - k, y));
      for (let x = 0; x < width; x++) (ink.top += +dark(x, k)), (ink.bottom += +dark(x, height - 1 - k));
    }
    return ink;
  }, png.toString('base64'));
}

for (const width of [1280, 390] as const) {
  test(`the 3-D scatter fills the panel's width at ${width} px, its axis titles inside the chart`, async ({ browser }) => {
    const page = await signedIn(browser, `Sol${width}`, { width, height: 900 });
    await page.goto(`/${MODEL}/${SAE}`);
    const scatter = page.getByTestId('sae-scatter');
    await expect(scatter).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await page.getByRole('tab', { name: '3-D' }).click();
    const canvas = scatter.locator('.gl-container canvas').first();
    await expect(canvas).toBeVisible({ timeout: 30_000 });
    await scatter.scrollIntoViewIfNeeded();
    await page.mouse.move(0, 0); // no toolbar or hover label over the scene
    await page.waitForTimeout(500); // the scene draws on the next frames

    const panel = (await scatter.locator('..').boundingBox())!;
    const figure = (await scatter.boundingBox())!;
    const svg = (await scatter.locator('svg.main-svg').first().boundingBox())!;
    const scene = (await canvas.boundingBox())!;
    for (const [what, box] of [['figure', figure], ['chart', svg], ['3-D scene', scene]] as const) {
      expect(Math.abs(box.width - panel.width), `${what} ${box.width} px wide in a panel of ${panel.width}`).toBeLessThanOrEqual(2);
    }
    expect(await inkAtEdges(page, scene)).toEqual({ left: 0, right: 0, top: 0, bottom: 0 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'sideways scroll').toBe(0);
    await scatter.screenshot({ path: `test-results/screenshots/first-hour-3d-${width}.png` });
    await page.context().close();
  });
}
