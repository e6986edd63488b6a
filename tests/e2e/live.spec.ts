/**
 * Live updates between two people on the same feature page, against the server playwright.config.ts starts: presence
 * ("2 people viewing"), a label change and a comment by one appearing for the other without a reload, and the
 * watcher's unread count and notifications page. Seeds only the fixture SAE (no dashboards: the page still renders).
 * Screenshots go to test-results/screenshots/.
 */
import { expect, test, type Page } from '@playwright/test';
import { ensureSae, MODEL, SAE, shot, signedIn, sql } from './support';

const run = Date.now().toString(36);
const FEATURE = 11;

/** Marks the page's window: still there later means the page was never reloaded. */
const mark = (page: Page) => page.evaluate(() => ((window as unknown as { liveMark: string }).liveMark = 'not reloaded'));
const stillMarked = (page: Page) => page.evaluate(() => (window as unknown as { liveMark?: string }).liveMark);

test.beforeAll(async ({}, info) => {
  info.setTimeout(300_000);
  await ensureSae(SAE);
});

test('two people on one feature page: presence, a label change and a comment arrive live, the watcher is notified', async ({ browser }) => {
  test.setTimeout(240_000);
  const url = `/${MODEL}/${SAE}/${FEATURE}`;
  const ada = await signedIn(browser, `Ada${run}`);
  const bo = await signedIn(browser, `Bo${run}`);

  await bo.goto(url);
  await expect(bo.getByTestId('live-status')).toHaveAttribute('data-live', 'on', { timeout: 30_000 });
  await expect(bo.getByTestId('viewing')).toHaveText('1 person viewing');
  await ada.goto(url);
  await expect(ada.getByTestId('viewing')).toHaveText('2 people viewing', { timeout: 15_000 });
  await expect(bo.getByTestId('viewing')).toHaveText('2 people viewing', { timeout: 15_000 });

  // Bo watches the feature
  await expect(bo.getByTestId('watch-button')).toHaveText('Watch');
  await bo.getByTestId('watch-button').click();
  await expect(bo.getByTestId('watch-button')).toHaveText('Unwatch');
  await expect(bo.getByTestId('watch-button')).toHaveAttribute('aria-pressed', 'true');
  await expect(bo.getByTestId('unread-count')).toHaveCount(0);
  await mark(bo);

  // Ada labels the feature: Bo's page shows it without a reload, and his unread count goes up
  const label = `story openings ${run}`;
  await ada.getByTestId('edit-feature').click();
  await ada.getByRole('textbox', { name: 'Label', exact: true }).fill(label);
  await ada.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(bo.getByTestId('feature-label')).toHaveText(label, { timeout: 15_000 });
  await expect(bo.getByTestId('unread-count')).toHaveText('1', { timeout: 15_000 });

  // Ada comments: it appears in Bo's thread, and notifies him again (he watches the feature)
  const comment = `Fires on the first word of a story, ${run}`;
  await ada.getByTestId('comment-input').fill(comment);
  await ada.getByTestId('comment-submit').click();
  await expect(bo.getByTestId('comment-body').filter({ hasText: comment })).toBeVisible({ timeout: 15_000 });
  await expect(bo.getByTestId('unread-count')).toHaveText('2', { timeout: 15_000 });
  expect(await stillMarked(bo), 'the page was updated in place, not reloaded').toBe('not reloaded');
  await bo.getByTestId('comment-body').filter({ hasText: comment }).scrollIntoViewIfNeeded();
  await shot(bo, 'live-feature-watcher', { fullPage: false });
  await bo.evaluate(() => window.scrollTo(0, 0));
  await shot(bo, 'live-feature-watcher-top', { fullPage: false });

  // Ada leaves: Bo is alone again
  await ada.goto('/');
  await expect(bo.getByTestId('viewing')).toHaveText('1 person viewing', { timeout: 15_000 });

  // Bo's notifications: both, unread, linking to the feature; mark all read clears the count
  await bo.getByTestId('notifications-link').click();
  await expect(bo).toHaveURL(/\/notifications$/);
  const items = bo.getByTestId('notification');
  await expect(items).toHaveCount(2);
  await expect(items.nth(0)).toContainText(`commented on`);
  await expect(items.nth(1)).toContainText(`${MODEL}/${SAE}/${FEATURE} is now labelled “${label}”`);
  await expect(items.nth(1).getByRole('link')).toHaveAttribute('href', url);
  await shot(bo, 'notifications', { fullPage: false });
  await bo.getByTestId('mark-all-read').click();
  await expect(bo.getByTestId('unread-count')).toHaveCount(0, { timeout: 10_000 });
  await expect(bo.locator('[data-testid="notification"][data-unread]')).toHaveCount(0);

  // a notification arriving while the notifications page is open shows up there, and in the count
  await ada.goto(url);
  await ada.getByTestId('edit-feature').click();
  await ada.getByRole('textbox', { name: 'Label', exact: true }).fill(`${label} (revised)`);
  await ada.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(bo.getByTestId('unread-count')).toHaveText('1', { timeout: 15_000 });
  await expect(items).toHaveCount(3, { timeout: 15_000 });

  // unwatching stops them
  await bo.goto(url);
  await bo.getByTestId('watch-button').click();
  await expect(bo.getByTestId('watch-button')).toHaveText('Watch');
  const [row] = await sql<{ n: number }>(`select count(*)::int as n from watch w join "user" u on u.id = w.user_id where u.name = $1`, [`Bo${run}`]);
  expect(row!.n).toBe(0);
});
