/**
 * Hypotheses in the browser, against the server playwright.config.ts starts: propose one from a feature page, run
 * Test your text and save it as evidence, settle the status, re-run the evidence and see it reproduced, vote, and
 * filter the list and the feature table. Seeds the fixture SAE with dashboards through the `lexicon` CLI (shared with
 * feature.spec.ts when that ran first). Screenshots go to test-results/screenshots/.
 */
import { expect, test } from '@playwright/test';
import { ensureSae, MODEL, SAE, shot, signUp, sql } from './support';

const run = Date.now().toString(36);
const STATEMENT = `Feature fires on story openings (${run})`;

let feature: number;
let url: string;

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
  const [row] = await sql<{ index: number }>(
    `select f.index from feature f join sae s on s.current_run_id = f.run_id
     where s.slug = $1 and f.density between 0.005 and 0.1 order by f.max_act desc, f.index limit 1`,
    [SAE],
  );
  feature = row!.index;
  url = `/${MODEL}/${SAE}/${feature}`;
});

test('propose a hypothesis, back it with a re-runnable test of text, settle it, and find it in the lists', async ({ page }) => {
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 1366, height: 900 });
  await signUp(page, 'Hypatia');

  // from the feature page's Hypotheses box to the form, with the feature filled in
  await page.goto(url);
  const box = page.getByTestId('hypotheses-box');
  await expect(box).toContainText('none about this feature yet');
  await box.getByTestId('new-hypothesis').click();
  await expect(page.getByLabel(/^Features/)).toHaveValue(`${MODEL}/${SAE}/${feature}`);
  await page.getByLabel(/^Statement/).fill(STATEMENT);
  await page.getByLabel(/^Reasoning/).fill('It peaks right after **Once upon a time**; compare [[stories260K/e2e-l2/0]].');
  await page.getByTestId('hypothesis-submit').click();
  await expect(page.getByTestId('hypothesis-statement')).toHaveText(STATEMENT, { timeout: 30_000 });
  const hypothesisUrl = page.url();
  await expect(page.getByTestId('hypothesis-status').first()).toHaveText('open');
  await expect(page.getByTestId('hypothesis-body').locator('strong')).toHaveText('Once upon a time');
  await expect(page.getByTestId('hypothesis-feature')).toContainText(`${MODEL}/${SAE}/${feature}`);

  // an invalid feature is refused with a message naming it
  await page.getByTestId('edit-hypothesis').click();
  await page.getByTestId('hypothesis-form').getByLabel(/^Features/).fill(`${MODEL}/${SAE}/99999`);
  await page.getByTestId('hypothesis-submit').click();
  await expect(page.getByTestId('hypothesis-form').getByRole('alert')).toContainText(`feature ${MODEL}/${SAE}/99999 is out of range`);
  await page.getByTestId('hypothesis-form').getByRole('button', { name: 'Cancel' }).click();

  // the feature table's filter finds the feature by its open hypothesis
  await page.goto(`/${MODEL}/${SAE}/features?hypotheses=open`);
  await expect(page.getByTestId('feature-count')).toHaveText(/^1 feature match/);
  await expect(page.getByTestId('feature-table').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('feature-table').locator('tbody tr')).toContainText(String(feature));

  // Test your text on the feature page, saved as evidence on the open hypothesis
  await page.goto(url);
  await expect(page.getByTestId('hypotheses-box').getByTestId('hypothesis-row')).toContainText(STATEMENT);
  const panel = page.getByTestId('panel-test');
  await panel.getByTestId('run-test').click();
  await expect(panel.getByTestId('test-result')).toBeVisible({ timeout: 60_000 });
  await panel.getByTestId('save-evidence').click();
  const form = panel.getByTestId('save-evidence-form');
  await expect(form.getByLabel('Hypothesis')).toHaveValue(/[0-9a-f-]{36}/);
  await expect(form.getByLabel('Hypothesis').locator('option:checked')).toHaveText(STATEMENT);
  await form.getByLabel(/^Note/).fill('peaks where the top examples do');
  await shot(page, 'hypothesis-save-evidence');
  await form.getByTestId('save-evidence-submit').click();
  await expect(panel.getByTestId('evidence-saved')).toBeVisible();

  // a steering scan, and the feature's dashboard from the Hypotheses box
  await page.getByRole('tab', { name: 'Steer', exact: true }).click();
  const steer = page.getByTestId('panel-steer');
  await steer.getByLabel('Steps').fill('5');
  await steer.getByTestId('run-steer').click();
  await expect(steer.getByTestId('steer-result')).toBeVisible({ timeout: 60_000 });
  await steer.getByTestId('save-evidence').click();
  await steer.getByTestId('save-evidence-submit').click();
  await expect(steer.getByTestId('evidence-saved')).toBeVisible();
  await page.getByTestId('hypotheses-box').getByTestId('save-evidence').click();
  await page.getByTestId('hypotheses-box').getByTestId('save-evidence-submit').click();
  await expect(page.getByTestId('hypotheses-box').getByTestId('evidence-saved')).toBeVisible();

  // the evidence on the hypothesis page: shaded tokens, the steering curve, the dashboard's numbers, provenance
  await page.goto(hypothesisUrl);
  const items = page.getByTestId('evidence');
  await expect(items).toHaveCount(3);
  await expect(items.nth(1)).toContainText('Steering scan');
  await expect(items.nth(1).getByTestId('evidence-plot')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(items.nth(2)).toContainText('Dashboard snapshot');
  await expect(items.nth(2)).toContainText('over 8,192 tokens');
  await expect(items.nth(2).getByTestId('provenance')).toContainText('corpus');
  const evidence = items.first();
  await expect(evidence).toContainText('Test your text');
  await expect(evidence).toContainText('peaks where the top examples do');
  await expect(evidence.getByTestId('evidence-tokens').locator('[data-pos]').first()).toBeVisible();
  await expect(evidence.getByTestId('provenance')).toContainText('backend');

  // settle: status with a note, kept in the history
  await page.getByTestId('status-select').selectOption('supported');
  await page.getByTestId('status-note').fill('the test run agrees');
  await page.getByTestId('status-submit').click();
  await expect(page.locator('h1 + [data-testid="hypothesis-status"]')).toHaveText('supported');
  const history = page.getByTestId('status-history').locator('li');
  await expect(history).toHaveCount(2);
  await expect(history.nth(1)).toContainText('supported');
  await expect(history.nth(1)).toContainText('the test run agrees');

  // vote
  await page.getByRole('button', { name: /agree/ }).first().click();
  await expect(page.getByTestId('score')).toHaveText('+1');

  // re-run: the worker computes it again and the page says it reproduced
  await evidence.getByTestId('rerun-button').click();
  await expect(evidence.getByTestId('rerun-verdict')).toHaveText('reproduced ✓', { timeout: 90_000 });
  await expect(evidence.getByTestId('rerun')).toContainText('max diff');
  await shot(page, 'hypothesis-page');

  // a tampered saved result no longer reproduces
  await sql(`update evidence set result = jsonb_set(result, '{features,${feature},1}', '7.5') where hypothesis_id = $1 and kind = 'activations'`, [hypothesisUrl.split('/').pop()]);
  await evidence.getByTestId('rerun-button').click();
  await expect(evidence.getByTestId('rerun-verdict').first()).toHaveText('differs ✗', { timeout: 90_000 });
  await expect(evidence.getByTestId('rerun').first()).toContainText(`features.${feature}[1]`);
  await shot(page, 'hypothesis-differs');

  // the list, filtered by status and feature
  await page.goto('/hypotheses?status=supported');
  await expect(page.getByTestId('hypotheses-table')).toContainText(STATEMENT);
  await page.goto('/hypotheses?status=open');
  await expect(page.getByText(STATEMENT)).toHaveCount(0);
  await page.goto('/hypotheses');
  await page.getByLabel('Feature', { exact: true }).fill(`${MODEL}/${SAE}/${feature}`);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/feature=/);
  await expect(page.getByTestId('hypothesis-row')).toHaveCount(1);
  await expect(page.getByTestId('hypothesis-row')).toContainText('+1 (1 vote)');
  await shot(page, 'hypotheses-list');
  await page.getByLabel('Feature', { exact: true }).fill(`${MODEL}/${SAE}/${feature === 0 ? 1 : 0}`);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByTestId('no-hypotheses')).toBeVisible();
  await expect(page.getByRole('banner').getByRole('link', { name: 'Hypotheses', exact: true })).toBeVisible(); // in the header
});
