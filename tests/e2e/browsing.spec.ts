/**
 * Browsing without opening every page, on the fixture SAE with real dashboards: the feature table's top tokens and
 * snippets, adding ticked rows (and a feature from its page) to a list that shows the same snippets, and the
 * labelling queue's wider evidence (logits, top examples, quantile intervals).
 */
import { expect, test } from '@playwright/test';
import { ensureSae, MODEL, SAE, shot, signedIn, sql } from './support';

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
});

test.describe.configure({ mode: 'serial' });

/** Live features of the fixture SAE, by index, with the piece of the token their top example peaks on. */
async function livePeaks(): Promise<{ index: number; piece: string }[]> {
  return sql<{ index: number; piece: string }>(
    `select f.index, v.pieces[x.max_token + 1] as piece
       from sae s join model m on m.id = s.model_id join model_vocab v on v.model_id = m.id
       join feature f on f.run_id = s.current_run_id
       join feature_example x on x.run_id = f.run_id and x.feature_index = f.index and x.kind = 'top' and x.rank = 0
      where m.slug = $1 and s.slug = $2 and f.nonzero_count > 0
      order by f.index`,
    [MODEL, SAE],
  );
}

test('the table shows top tokens and snippets; ticked rows and a feature page add to a list that shows them', async ({ browser }) => {
  const page = await signedIn(browser, 'Browsing', { width: 1366, height: 900 });
  // plain-word peaks, so the marked token reads as the piece itself
  const peaks = (await livePeaks()).filter((p) => /^ ?[A-Za-z]+$/.test(p.piece)).slice(0, 3);
  expect(peaks).toHaveLength(3);
  const [a, b, c] = peaks as [(typeof peaks)[0], (typeof peaks)[0], (typeof peaks)[0]];

  await page.goto(`/${MODEL}/${SAE}/features?sort=index&dir=asc`);
  const table = page.getByTestId('feature-table');
  const row = (index: number) => table.locator('tbody tr').filter({ has: page.getByRole('link', { name: `#${index}`, exact: true }) });
  for (const p of [a, b]) {
    await expect(row(p.index).getByTestId('snippet').locator('mark')).toHaveText(p.piece.trim());
    await expect(row(p.index).getByTestId('top-tokens')).toContainText('fires on');
    await expect(row(p.index).getByTestId('top-tokens')).toContainText('raises');
    await expect(row(p.index).getByTestId('top-tokens').locator('.peak code').first()).toBeVisible();
  }
  await shot(page, 'browsing-feature-table', { fullPage: false });

  // Nothing ticked: the form says so rather than adding nothing.
  const adder = page.getByRole('form', { name: 'Add selected to list' });
  await adder.getByLabel('Name').fill('Browsed features');
  await adder.getByRole('button', { name: 'Add selected to list' }).click();
  await expect(adder.getByRole('alert')).toHaveText('Tick the features to add first.');

  await page.getByLabel(`Select feature ${a.index}`, { exact: true }).check();
  await page.getByLabel(`Select feature ${b.index}`, { exact: true }).check();
  await adder.getByRole('button', { name: 'Add selected to list' }).click();
  await expect(adder.getByTestId('added-to-list')).toHaveText('Added 2 to Browsed features');

  // From the feature page: the list is offered by name.
  await page.goto(`/${MODEL}/${SAE}/${c.index}`);
  const one = page.getByRole('form', { name: 'Add to list' });
  await expect(one.getByLabel('List')).toContainText('Browsed features (2)');
  await one.getByRole('button', { name: 'Add to list' }).click();
  await expect(one.getByTestId('added-to-list')).toHaveText('Added 1 to Browsed features');

  await one.getByRole('link', { name: 'Browsed features' }).click();
  await expect(page).toHaveURL(/\/lists\/[0-9a-f-]{36}$/);
  const entries = page.getByTestId('list-entries').locator('tbody tr');
  await expect(entries).toHaveCount(3);
  for (const [i, p] of [a, b, c].entries()) {
    await expect(entries.nth(i)).toContainText(`${MODEL}/${SAE}/${p.index}`);
    await expect(entries.nth(i).getByTestId('snippet').locator('mark')).toHaveText(p.piece.trim());
    await expect(entries.nth(i).getByTestId('top-tokens')).toContainText('fires on');
  }
  await shot(page, 'browsing-list');
});

test('the labelling queue shows logits, top examples with wide context, and quantile intervals', async ({ browser }) => {
  const page = await signedIn(browser, 'Labeller', { width: 1366, height: 900 });
  const [first] = await livePeaks();
  await page.goto(`/${MODEL}/${SAE}/label?at=${first!.index}`);
  const item = page.getByTestId('queue-item');
  await expect(item.getByRole('heading', { level: 2 })).toBeVisible();
  await expect(item.getByTestId('logit-top').locator('tr')).not.toHaveCount(0);
  await expect(item.getByTestId('logit-bottom').locator('tr')).not.toHaveCount(0);
  const top = item.getByTestId('queue-top').getByTestId('example');
  await expect(top.first()).toBeVisible();
  // ±32 tokens round the peak (at least 33 after it in a 128-token context), never the whole context unexpanded
  const shown = (label: string | null) => {
    const [, from, to] = /tokens (\d+)–(\d+) of 128$/.exec(label ?? '') ?? [];
    return Number(to) - Number(from) + 1;
  };
  const widest = Math.max(...(await Promise.all((await top.getByRole('group').all()).map(async (line) => shown(await line.getAttribute('aria-label'))))));
  expect(widest).toBeGreaterThan(33);
  expect(widest).toBeLessThanOrEqual(65);
  const intervals = item.getByTestId('queue-intervals').getByTestId('interval');
  expect(await intervals.count()).toBeGreaterThanOrEqual(2);
  expect(await intervals.count()).toBeLessThanOrEqual(4);
  await expect(intervals.first().getByTestId('example').first()).toBeVisible();
  // highest interval first
  const ranges = (await intervals.locator('h3').allTextContents()).map((t) => Number(/^\s*([-\d.e]+)/.exec(t)![1]));
  expect(ranges).toEqual([...ranges].sort((x, y) => y - x));
  await expect(page.getByLabel('Label', { exact: true })).toBeFocused();
  await shot(page, 'browsing-label-queue');
});
