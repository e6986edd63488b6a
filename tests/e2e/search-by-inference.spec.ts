/**
 * Search by inference on the SAE page, the model page and /search: "Which features fire on my text?" runs a job over
 * the fixture SAE (on the model page, over each of the model's SAEs) and lists the features that fire most, each
 * linked to its page; clicking a token re-ranks them by their activation there, and asking again is answered from
 * the cache. Screenshots go to test-results/screenshots/.
 */
import { expect, test, type Locator } from '@playwright/test';
import { ensureSae, MODEL, newPage, SAE, shot, signedIn } from './support';

test.beforeAll(async () => {
  test.setTimeout(300_000);
  await ensureSae();
});

test('a visitor is asked to sign in before running the model', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(`/${MODEL}/${SAE}`);
  const panel = page.getByTestId('top-features');
  await expect(panel.getByTestId('run-top-features')).toBeDisabled();
  await expect(panel.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await page.context().close();
});

test('typed text lists the features that fire most on it, linked to their pages', async ({ browser }) => {
  const page = await signedIn(browser, 'Iris');
  await page.goto(`/${MODEL}/${SAE}`);
  const panel = page.getByTestId('top-features');
  await expect(panel.getByRole('heading', { name: 'Which features fire on my text?' })).toBeVisible();
  await panel.getByRole('textbox', { name: 'Text' }).fill('Once upon a time, there was a little girl named Lily.');
  await panel.getByTestId('run-top-features').click();
  await expect(panel.getByTestId('top-features-job-state')).toHaveText('done', { timeout: 90_000 });
  const rows = panel.getByTestId('top-features-table').locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  expect(await rows.count()).toBeLessThanOrEqual(20); // the default top
  const first = rows.first().getByRole('link');
  const href = await first.getAttribute('href');
  expect(href).toMatch(new RegExp(`^/${MODEL}/${SAE}/\\d+$`));
  await expect(rows.first()).toContainText(/of \d+/);
  await shot(page, 'sae-search-by-inference', { fullPage: false });

  // a click on a token ranks the listed features by their activation at it
  const before = await featureOrder(panel, 'top-features');
  await panel.getByTestId('top-features-text').locator('[data-pos="5"]').click();
  await expect(panel.getByTestId('top-features-rank-note')).toContainText('(position 5)');
  const here = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[3]!.textContent)));
  expect(here).toEqual([...here].sort((a, b) => b - a));
  expect(new Set(await featureOrder(panel, 'top-features'))).toEqual(new Set(before));
  await panel.getByRole('button', { name: 'Rank by max again' }).click();
  expect(await featureOrder(panel, 'top-features')).toEqual(before);

  // the same search again is answered by the finished job
  await panel.getByTestId('run-top-features').click();
  await expect(panel.getByTestId('top-features-cached')).toBeVisible();
  expect(await featureOrder(panel, 'top-features')).toEqual(before);

  await first.click();
  await expect(page).toHaveURL(href!);
  await expect(page.getByTestId('feature-title')).toContainText(href!.slice(1));
  await page.context().close();
});

/** The features of a result table, in the order listed. */
async function featureOrder(panel: Locator, testId: string): Promise<number[]> {
  return panel.getByTestId(`${testId}-table`).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.feature)));
}

test('the model page searches each of its SAEs, ranked by the sum, with links to the features', async ({ browser }) => {
  const page = await signedIn(browser, 'Ivo');
  await page.goto(`/${MODEL}`);
  const panel = page.getByTestId('top-features');
  await expect(panel.getByRole('heading', { name: 'Which features fire on my text, in each SAE?' })).toBeVisible();
  await panel.getByRole('textbox', { name: 'Text' }).fill('The little dog ran to the park with his ball.');
  await panel.getByTestId('top-features-rank').selectOption('sum');
  await panel.getByTestId('run-top-features').click();
  await expect(panel.getByRole('heading', { name: SAE, exact: true })).toBeVisible();
  await expect(panel.getByTestId(`top-features-${SAE}-job-state`)).toHaveText('done', { timeout: 90_000 });
  const result = panel.getByTestId(`top-features-${SAE}-result`);
  await expect(result).toContainText('activations summed');
  const rows = panel.getByTestId(`top-features-${SAE}-table`).locator('tbody tr');
  const sums = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[4]!.textContent)));
  expect(sums.length).toBeGreaterThan(0);
  expect(sums).toEqual([...sums].sort((a, b) => b - a));
  expect(await rows.first().getByRole('link').getAttribute('href')).toMatch(new RegExp(`^/${MODEL}/${SAE}/\\d+$`));
  await shot(page, 'model-search-by-inference', { fullPage: false });
  await page.context().close();
});

test('/search by inference runs the chosen SAE on the typed text, over the token positions given', async ({ browser }) => {
  const page = await signedIn(browser, 'Ines');
  const q = 'She saw a big red ball.';
  await page.goto(`/search?mode=inference&model=${MODEL}&sae=${SAE}&q=${encodeURIComponent(q)}`);
  const panel = page.getByTestId('top-features');
  await expect(panel.getByRole('textbox', { name: 'Text' })).toHaveValue(q);
  // ranked over chosen tokens only
  await panel.getByTestId('top-features-positions').fill('two');
  await expect(panel.getByRole('alert')).toContainText('token positions are whole numbers');
  await expect(panel.getByTestId('run-top-features')).toBeDisabled();
  await panel.getByTestId('top-features-positions').fill('1, 2');
  await panel.getByTestId('run-top-features').click();
  await expect(panel.getByTestId('top-features-job-state')).toHaveText('done', { timeout: 90_000 });
  await expect(panel.getByTestId('top-features-result')).toContainText(/ over 2 of \d+ tokens/);
  const peaks = await panel.getByTestId('top-features-table').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.children[5]!.textContent));
  expect(peaks.length).toBeGreaterThan(0);
  expect(peaks.every((p) => /\(position [12]\)/.test(p!))).toBe(true);
  await page.context().close();
});
