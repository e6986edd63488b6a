/**
 * The wiki around a feature page, in Chromium against the server playwright.config.ts starts: two edits, their
 * word-level diff on the history page (<ins>/<del>), revert, label proposals from two users and votes that pick the
 * shown label, recent changes (filtered by user) and a contributions page. Needs only the fixture SAE registered
 * (added through the `lexicon` CLI when missing); it works on a feature nobody else has touched.
 * Screenshots go to test-results/screenshots/wiki-*.png.
 */
import { expect, test, type Page } from '@playwright/test';
import { ensureSae, MODEL, SAE, shot, signedIn, sql } from './support';

const run = Date.now().toString(36);

let url: string;

async function edit(page: Page, label: string, body: string, summary: string) {
  await page.getByTestId('edit-feature').click();
  await page.getByRole('textbox', { name: 'Label', exact: true }).fill(label);
  await page.getByRole('textbox', { name: /^Description/ }).fill(body);
  await page.getByRole('textbox', { name: 'Summary of the change' }).fill(summary);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  // the save, then the page's server render again: seconds on a loaded 2-core machine
  await expect(page.getByTestId('feature-label')).toHaveText(label, { timeout: 15_000 });
}

test.beforeAll(async ({}, info) => {
  info.setTimeout(300_000);
  await ensureSae(SAE);
  // A feature with no page, proposals or votes yet (other specs label the busiest ones).
  const [free] = await sql<{ index: number }>(
    `select i as index from generate_series(255, 0, -1) i
      where not exists (select 1 from feature_page p join sae s on s.id = p.sae_id where s.slug = $1 and p.index = i)
        and not exists (select 1 from label_proposal p join sae s on s.id = p.sae_id where s.slug = $1 and p.index = i)
      limit 1`,
    [SAE],
  );
  url = `/${MODEL}/${SAE}/${free!.index}`;
});

test('history with word diffs and revert, label votes, recent changes and contributions', async ({ browser }) => {
  test.setTimeout(240_000);
  const alice = await signedIn(browser, 'Alice');
  await alice.goto(url);
  await edit(alice, `opening quote ${run}`, 'Fires on the opening quote.', 'first reading');
  await edit(alice, `opening quotation mark ${run}`, 'Fires on the opening quote of direct speech.', 'more precise');

  // History: both revisions, and the latest change as a word diff (default comparison 1 → 2).
  await alice.getByTestId('label-proposals').getByRole('link', { name: 'History' }).click();
  await expect(alice).toHaveURL(new RegExp(`${url}/history$`));
  await expect(alice.getByTestId('revision-2')).toContainText('more precise');
  await expect(alice.getByTestId('revision-1')).toContainText('first reading');
  await expect(alice.getByTestId('revision-1')).toContainText('Alice');
  // Compare explicitly through the form (the URL carries the choice).
  await alice.getByLabel('compare from revision 1').check();
  await alice.getByLabel('compare to revision 2').check();
  await alice.getByTestId('compare').click();
  await expect(alice).toHaveURL(/[?&]from=1(&|$)/);
  await expect(alice).toHaveURL(/[?&]to=2(&|$)/);
  await expect(alice.getByTestId('diff-body').locator('ins')).toContainText(['direct']);
  await expect(alice.getByTestId('diff-body').locator('del')).toHaveCount(0);
  await expect(alice.getByTestId('diff-label').locator('del')).toContainText(['quote']);
  await expect(alice.getByTestId('diff-label').locator('ins')).toContainText(['quotation']);
  // Insertions and deletions read without colour: underlined and struck through.
  expect(await alice.getByTestId('diff-label').locator('del').first().evaluate((e) => getComputedStyle(e).textDecorationLine)).toBe('line-through');
  expect(await alice.getByTestId('diff-body').locator('ins').first().evaluate((e) => getComputedStyle(e).textDecorationLine)).toBe('underline');
  await shot(alice, 'wiki-history-diff');

  // Revert to revision 1: a new revision 3, and the feature shows revision 1's text again.
  await alice.getByTestId('revert-1').click();
  await expect(alice.getByTestId('revision-3')).toContainText('Reverted to revision 1');
  await alice.goto(url);
  await expect(alice.getByTestId('feature-label')).toHaveText(`opening quote ${run}`, { timeout: 15_000 });
  await expect(alice.getByTestId('feature-description')).toHaveText('Fires on the opening quote.');

  // Alice's edits carried her vote (so a single rival vote cannot undo them); she withdraws it to let the votes decide.
  const proposals = (page: Page) => page.getByTestId('label-proposals');
  const edited = proposals(alice).getByTestId('proposal').filter({ hasText: `opening quote ${run}` });
  await expect(edited).toHaveAttribute('data-votes', '1');
  await edited.getByRole('button', { name: '✓ your vote (withdraw)' }).click();
  await expect(edited).toHaveAttribute('data-votes', '0');
  await expect(alice.getByTestId('feature-label')).toHaveText(`opening quote ${run}`, { timeout: 15_000 });

  // Two users propose labels; Bob's vote makes Alice's the label, then both vote for Bob's: it wins 2–0.
  const bob = await signedIn(browser, 'Bob');
  await proposals(alice).getByLabel('Propose a label').fill(`speech start ${run}`);
  await proposals(alice).getByRole('button', { name: 'Propose' }).click();
  await expect(proposals(alice).getByTestId('proposal').filter({ hasText: `speech start ${run}` })).toBeVisible();
  await bob.goto(url);
  await proposals(bob).getByLabel('Propose a label').fill(`dialogue ${run}`);
  await proposals(bob).getByRole('button', { name: 'Propose' }).click();
  await expect(proposals(bob).getByTestId('proposal')).toHaveCount(4);

  await proposals(bob).getByRole('button', { name: `Vote for “speech start ${run}”` }).click();
  await expect(bob.getByTestId('feature-label')).toHaveText(`speech start ${run}`, { timeout: 15_000 });
  await expect(proposals(bob).getByTestId('label-author')).toContainText('set by Bob through a vote');
  await proposals(bob).getByRole('button', { name: `Vote for “dialogue ${run}”` }).click(); // moves Bob's vote: 0–1
  await expect(bob.getByTestId('feature-label')).toHaveText(`dialogue ${run}`, { timeout: 15_000 });
  await alice.reload();
  await proposals(alice).getByRole('button', { name: `Vote for “dialogue ${run}”` }).click();
  const winner = proposals(alice).getByTestId('proposal').first();
  await expect(winner).toContainText(`dialogue ${run}`);
  await expect(winner).toHaveAttribute('data-votes', '2');
  await expect(winner).toContainText('✓ your vote');
  await expect(winner).toContainText('by Bob');
  await expect(proposals(alice).getByTestId('proposal').filter({ hasText: `speech start ${run}` })).toHaveAttribute('data-votes', '0');
  await expect(alice.getByTestId('feature-label')).toHaveText(`dialogue ${run}`);
  await shot(alice, 'wiki-proposals');

  // Recent changes: the vote that changed the label, the revert and the edits; filtered to Bob by his id and by his handle.
  await alice.getByRole('link', { name: 'Recent changes' }).click();
  const mine = alice.getByTestId('change').filter({ hasText: new RegExp(`${MODEL}/${SAE}/${url.split('/').at(-1)}(?!\\d)`) });
  await expect(mine.first()).toHaveAttribute('data-kind', 'vote');
  await expect(mine.first()).toContainText(`dialogue ${run}`);
  await expect(mine.filter({ hasText: 'Reverted to revision 1' })).toHaveAttribute('data-kind', 'revert');
  await expect(mine).toHaveCount(5); // two edits, the revert, two label changes by vote
  await shot(alice, 'wiki-changes');
  const bobId = (await bob.getByRole('link', { name: 'Contributions' }).getAttribute('href'))!.split('/').at(-1)!;
  await alice.goto(`/changes?user=${bobId}`);
  await expect(alice.getByTestId('change')).toHaveCount(2);
  await expect(alice.getByTestId('change').first()).toContainText(`Label chosen by vote: dialogue ${run}`);
  // the same by his @handle, typed into the filter
  await alice.goto('/changes');
  await alice.getByRole('textbox', { name: 'User' }).fill('@bob');
  await alice.getByRole('button', { name: 'Filter' }).click();
  await expect(alice).toHaveURL(/user=%40bob/);
  await expect(alice.getByTestId('change')).toHaveCount(2);
  await expect(alice.getByTestId('changes-by').getByRole('link')).toHaveAttribute('href', `/users/${bobId}`);
  await expect(alice.getByTestId('changes-by')).toHaveText('Changes by Bob');

  // Alice's contributions: her revisions and proposals.
  await alice.getByRole('link', { name: 'Contributions' }).click();
  await expect(alice.getByTestId('user-name')).toHaveText('Alice');
  await expect(alice.getByTestId('user-revisions').getByTestId('change')).toHaveCount(3);
  await expect(alice.getByTestId('user-proposals')).toContainText(`speech start ${run}`);
  await expect(alice.getByTestId('user-proposals')).toContainText(`opening quotation mark ${run}`);
  await shot(alice, 'wiki-contributions');
});
