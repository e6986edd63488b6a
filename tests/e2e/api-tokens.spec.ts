/**
 * API tokens on the account page, in Chromium against the server playwright.config.ts starts: create a read-write
 * token, see it once, use it against /api/v1 (the README's curl and Python examples, run as written on a feature
 * nobody has touched), revoke it, and see it refused. Screenshot: test-results/screenshots/api-tokens.png.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { ensureSae, MODEL, ROOT, SAE, shot, signedIn, sql } from './support';

/** The README's fenced block of `language` that calls the API, pointed at this server and at `feature` instead of the demo's feature 3. */
function readmeExample(language: string, baseURL: string, feature: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].find((m) => m[1]!.includes('/api/v1'));
  expect(block, `the README's ${language} example of the API`).toBeDefined();
  return block![1]!.replaceAll('http://localhost:3000', baseURL).replaceAll('/stories260K/1-res/3', feature);
}

test('create a token, see it once, use it, revoke it', async ({ browser, baseURL }) => {
  test.setTimeout(480_000);
  await ensureSae(SAE, { dashboards: true });
  const page = await signedIn(browser, 'Tokia');
  await page.getByRole('link', { name: 'Contributions' }).click(); // your own page
  const panel = page.getByTestId('api-tokens');

  await panel.getByTestId('token-name').fill('notebook');
  await panel.getByTestId('token-scope').selectOption('read-write');
  await panel.getByRole('button', { name: 'Create token' }).click();
  const value = panel.getByTestId('new-token-value');
  await expect(value).toHaveValue(/^lex_/);
  const token = await value.inputValue();
  await expect(panel.getByTestId('token-row')).toHaveCount(1);
  await expect(panel.getByTestId('token-row')).toContainText(['notebook']);
  await expect(panel.getByTestId('token-row')).toContainText('never');
  await shot(page, 'api-tokens');

  // the database holds its hash only
  const [row] = await sql<{ token_hash: string; scope: string }>('select token_hash, scope from api_token where name = $1 order by created_at desc limit 1', ['notebook']);
  expect(row).toEqual({ token_hash: createHash('sha256').update(token).digest('hex'), scope: 'read-write' });

  const auth = { authorization: `Bearer ${token}` };
  const models = await page.request.get('/api/v1/models', { headers: auth });
  expect(models.status()).toBe(200);
  expect((await models.json()).models.map((m: { slug: string }) => m.slug)).toContain(MODEL);

  // the README's examples, on a feature with no page yet
  const [free] = await sql<{ index: number }>(
    `select i as index from generate_series(200, 0, -1) i
      where not exists (select 1 from feature_page p join sae s on s.id = p.sae_id where s.slug = $1 and p.index = i) limit 1`,
    [SAE],
  );
  const feature = `/${MODEL}/${SAE}/${free!.index}`;
  const env = { ...process.env, LEXICON_TOKEN: token };
  const curl = readmeExample('sh', baseURL!, feature).replace(/^export LEXICON_TOKEN=.*\n/m, '');
  expect(execFileSync('bash', ['-o', 'pipefail', '-c', curl], { env, encoding: 'utf8' })).toContain('"maxAct"');
  expect(execFileSync('python3', ['-c', readmeExample('python', baseURL!, feature)], { env, encoding: 'utf8' })).toBe('now at revision 1\n');
  const labelled = await page.request.get(`/api/v1${feature}`, { headers: auth });
  expect(await labelled.json()).toMatchObject({ label: 'names of girls', revision: 1 });

  // shown once: a reload lists it, with its last use, and without the token
  await page.reload();
  await expect(panel.getByTestId('token-row')).toContainText(/\d{4}-\d\d-\d\d \d\d:\d\d UTC.*\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  await expect(panel.getByTestId('new-token')).toHaveCount(0);
  expect(await page.content()).not.toContain(token);

  await panel.getByRole('button', { name: 'Revoke' }).click();
  await expect(panel.getByTestId('token-row')).toContainText('revoked');
  const refused = await page.request.get('/api/v1/models', { headers: auth });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.message).toContain('revoked');
});
