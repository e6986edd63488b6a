/**
 * Search by inference on the SAE page: "Which features fire on my text?" runs a job over the fixture SAE and lists
 * the features that fire most, each linked to its page. Screenshots go to test-results/screenshots/.
 */
import { expect, test } from '@playwright/test';
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
  await first.click();
  await expect(page).toHaveURL(href!);
  await expect(page.getByTestId('feature-title')).toContainText(href!.slice(1));
  await page.context().close();
});
