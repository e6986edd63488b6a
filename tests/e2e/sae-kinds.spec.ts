/**
 * Issue 12's SAE kinds in the browser: a hook_z SAE's Test your text shows direct feature attribution, and a
 * transcoder's SAE page names both its hooks. The model is the tiny GPT-2 fixture, the SAEs are
 * tests/reference/gpt2-tiny-a-kinds (made by tests/reference/gpt2_kinds.py).
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { FIXTURES_DIR } from '../shared';
import { lexicon, ROOT, shot, signedIn, sql } from './support';

const MODEL = 'gpt2-tiny-a';
const KINDS = path.join(ROOT, 'tests/reference/gpt2-tiny-a-kinds');
/** the reference's hook_z feature that fires hardest on "The quick brown fox jumps over the lazy dog." */
const FEATURE = 29;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  const [model] = await sql('select id from model where slug = $1', [MODEL]);
  if (!model) lexicon('model', 'add', path.join(FIXTURES_DIR, 'gpt2-tiny-a'));
  const saes = new Set((await sql<{ slug: string }>('select s.slug from sae s join model m on m.id = s.model_id where m.slug = $1', [MODEL])).map((s) => s.slug));
  if (!saes.has('attn-z')) lexicon('sae', 'add', path.join(KINDS, 'hook-z-sae'), '--model', MODEL, '--slug', 'attn-z');
  if (!saes.has('skip-tc')) lexicon('sae', 'add', path.join(KINDS, 'skip-transcoder'), '--model', MODEL, '--slug', 'skip-tc');
});

test('a hook_z feature’s Test your text shows which tokens it reads from', async ({ browser }) => {
  const page = await signedIn(browser, 'Dora', { width: 1280, height: 800 });
  await page.goto(`/${MODEL}/attn-z/${FEATURE}`);
  const panel = page.getByTestId('panel-test');
  await panel.getByRole('textbox', { name: 'Text' }).fill('The quick brown fox jumps over the lazy dog.');
  await panel.getByTestId('run-test').click();
  await expect(panel.getByTestId('test-job-state')).toHaveText('done', { timeout: 90_000 });
  const dfa = panel.getByTestId('dfa-result');
  await expect(dfa).toContainText('direct feature attribution');
  // the text's tokens (BOS first), shaded by their contribution up to the feature's peak, unshaded after it
  const tokens = await panel.getByTestId('test-tokens').locator('[data-pos]').count();
  await expect(panel.getByTestId('dfa-tokens').locator('[data-pos]')).toHaveCount(tokens);
  await expect(dfa).toContainText(/position \d+, activation/);
  await shot(page, 'panel-test-dfa', { fullPage: false });
  await page.context().close();
});

test('a transcoder’s page names its input and output hooks', async ({ browser }) => {
  const page = await signedIn(browser, 'Theo');
  await page.goto(`/${MODEL}/skip-tc`);
  await expect(page.getByText('blocks.0.ln2.hook_normalized → blocks.0.hook_mlp_out')).toBeVisible();
  await page.context().close();
});
