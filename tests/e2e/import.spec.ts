/**
 * Importing dashboards from the SAE page: an admin starts an import of a Neuronpedia export (written by the test in
 * that layout, with stories260K's vocabulary) from a directory on the server; the worker of `npm start` runs the job,
 * and the SAE and feature pages then say where the dashboards came from, with the explanations as label proposals;
 * the panel says what became of the export's decoder vectors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { writeNeuronpediaExport } from '../helpers/neuronpedia-export';
import { ensureSae, MODEL, newPage, shot, signUp, sql } from './support';

const SLUG = 'e2e-import';
let exportDir: string;

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SLUG);
  const [{ pieces }] = await sql<{ pieces: string[] }>('select v.pieces from model_vocab v join model m on m.id = v.model_id where m.slug = $1', [MODEL]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-e2e-import-'));
  // with decoder vectors of the SAE's width that are not its rows: the import compares them and says so
  ({ dir: exportDir } = await writeNeuronpediaExport(root, { modelId: MODEL, sourceId: SLUG, vocab: pieces, nFeatures: 64, vectorWidth: 64 }));
});

test('an admin imports a Neuronpedia export from the SAE page, and the pages say where the dashboards came from', async ({ browser }) => {
  const page = await newPage(browser);
  await sql(`update "user" set role = 'admin' where email = $1`, [await signUp(page, 'Ada')]);
  await page.goto(`/${MODEL}/${SLUG}`);
  await expect(page.getByTestId('no-dashboards')).toBeVisible();
  await page.getByText('Import dashboards from Neuronpedia or SAEDashboard').click();
  await page.getByLabel('Location').fill(exportDir);
  await page.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByTestId('import-result')).toContainText('Imported 64 features, 448 examples and 64 explanations', { timeout: 120_000 });
  await expect(page.getByTestId('import-vectors')).toHaveText(
    "64 of 64 decoder vectors differ from the SAE's own decoder rows (features 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …): is the export of another SAE?",
  );
  await expect(page.getByTestId('run-source')).toContainText(`imported from Neuronpedia export ${exportDir}, 8,000 tokens as stated by the source`);
  await shot(page, 'sae-imported');

  await page.goto(`/${MODEL}/${SLUG}/3`);
  await expect(page.getByTestId('run-source')).toContainText('imported from Neuronpedia export');
  await expect(page.getByTestId('example').first()).toBeVisible();
  await expect(page.getByTestId('proposal-source').first()).toHaveText('Neuronpedia (gpt-4o-mini)');
  await shot(page, 'feature-imported');
});
