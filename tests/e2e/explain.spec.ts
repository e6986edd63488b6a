/**
 * Automatic explanations in the browser: without an endpoint the SAE panel and the feature page say what to set; an
 * admin sets one (the fake OpenAI-compatible server of tests/helpers/chat-server.ts) on /admin/explainer, where the
 * key shows only as "set"; an editor's "Explain this feature" adds a proposal by "auto (model)" with its detection
 * score and the prompt and answer to open; a maintainer explains a range of features from the SAE page.
 */
import { expect, test, type Page } from '@playwright/test';
import { startChatServer, type FakeChatServer } from '../helpers/chat-server';
import { ensureSae, MODEL, SAE, shot, signedIn, signUp, sql, newPage } from './support';

const KEY = 'sk-e2e-secret';
let chat: FakeChatServer;
let live: number[];

test.beforeAll(async () => {
  test.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
  chat = await startChatServer();
  await sql(`delete from site_setting where key = 'explainer'`);
  const rows = await sql<{ index: number }>(
    `select f.index from feature f join sae s on s.current_run_id = f.run_id join model m on m.id = s.model_id
      where m.slug = $1 and s.slug = $2 and f.nonzero_count > 0 order by f.index limit 8`,
    [MODEL, SAE],
  );
  live = rows.map((r) => r.index);
});

test.afterAll(async () => {
  await chat?.close();
});

test('without an endpoint, the panels say what to set', async ({ browser }) => {
  const editor = await signedIn(browser, 'Nora');
  await editor.goto(`/${MODEL}/${SAE}`);
  const panel = editor.getByTestId('explain-panel');
  await expect(panel.getByRole('heading', { name: 'Automatic explanations' })).toBeVisible();
  await expect(panel.getByTestId('explain-not-configured')).toContainText('/admin/explainer', { timeout: 30_000 });
  await expect(panel.getByTestId('explain-not-configured')).toContainText('LEXICON_EXPLAINER_URL, LEXICON_EXPLAINER_MODEL and LEXICON_EXPLAINER_KEY');
  await editor.goto(`/${MODEL}/${SAE}/${live[0]}`);
  await expect(editor.getByTestId('explain-not-configured')).toContainText('No explainer endpoint is configured', { timeout: 30_000 });
  await expect(editor.getByRole('button', { name: 'Explain this feature' })).toHaveCount(0);
  await editor.context().close();
});

async function admin(browser: Parameters<typeof signedIn>[0]): Promise<Page> {
  const page = await newPage(browser);
  await sql(`update "user" set role = 'admin' where email = $1`, [await signUp(page, 'Ada')]);
  return page;
}

test('an admin sets the endpoint; an editor explains a feature and reads its score, prompt and answer', async ({ browser }) => {
  const ada = await admin(browser);
  await ada.goto('/admin/explainer');
  await expect(ada.getByTestId('explainer-status')).toContainText('No endpoint is configured');
  await ada.getByLabel('Base URL').fill(chat.url);
  await ada.getByLabel('Model').fill('e2e-explainer');
  await ada.getByLabel('API key').fill(KEY);
  await ada.getByLabel('Requests per minute').fill('6000');
  await ada.getByRole('button', { name: 'Save' }).click();
  await expect(ada.getByTestId('explainer-key')).toHaveText('set');
  await ada.reload();
  await expect(ada.getByTestId('explainer-status')).toContainText('e2e-explainer');
  await expect(ada.getByLabel('API key')).toHaveValue('');
  expect(await ada.content()).not.toContain(KEY);
  await shot(ada, 'admin-explainer', { fullPage: false });

  const editor = await signedIn(browser, 'Eve');
  await editor.goto(`/${MODEL}/${SAE}/${live[0]}`);
  await editor.getByRole('button', { name: 'Explain this feature' }).click({ timeout: 30_000 });
  await expect(editor.getByTestId('explain-feature-job-state')).toHaveText('done', { timeout: 90_000 });
  const proposals = editor.getByTestId('label-proposals');
  const auto = proposals.getByTestId('proposal').filter({ has: editor.getByTestId('proposal-source') });
  await expect(auto.getByTestId('proposal-source')).toHaveText('auto (e2e-explainer)', { timeout: 30_000 });
  await expect(auto.getByTestId('proposal-score')).toHaveText(/^detection [01]\.\d\d, n=\d+$/);
  await proposals.locator('summary').first().click(); // one proposal: the list starts closed
  await auto.getByText('prompt and answer').click();
  await expect(auto.getByTestId('proposal-provenance').locator('pre')).toContainText('<<');
  await expect(auto.getByTestId('proposal-provenance')).toContainText('Answer: the token');
  expect(chat.requests.at(-1)?.authorization).toBe(`Bearer ${KEY}`);
  await shot(editor, 'feature-auto-explanation', { fullPage: false, charts: false });
  await editor.context().close();

  // a maintainer (the admin) explains a range from the SAE page; the explained feature is skipped
  await ada.goto(`/${MODEL}/${SAE}`);
  const panel = ada.getByTestId('explain-panel');
  await expect(panel.getByTestId('explain-model')).toHaveText('e2e-explainer', { timeout: 30_000 });
  await panel.getByTestId('explain-features').fill(`${live[0]}-${live[3]}`);
  await panel.getByTestId('explain-start').click();
  await expect(panel.getByTestId('explain-result')).toContainText('e2e-explainer: 3 explained', { timeout: 120_000 });
  await expect(panel.getByTestId('explain-result')).toContainText('1 already explained by it');
  await panel.scrollIntoViewIfNeeded();
  await shot(ada, 'sae-explain-panel', { fullPage: false, charts: false });
  await ada.context().close();
});
