/**
 * Discussions in Chromium, against the server playwright.config.ts starts: post, reply, edit (with its history),
 * delete (a tombstone keeping the reply), feature chips with their hover and keyboard preview, a broken link, the
 * backlink on the linked feature's page, the thread read without JavaScript; and hostile markdown
 * (tests/helpers/xss-payloads.ts) posted and rendered — in comments and in the live preview — with nothing executing:
 * no dialog opens, no payload's side effect (`window.__xss`) happens, and no script or on* attribute is in the DOM.
 * Seeded like feature.spec.ts (the fixture SAE on stories260K with dashboards), made here when missing.
 * Screenshots go to test-results/screenshots/.
 */
import { expect as baseExpect, test, type Page } from '@playwright/test';
import { XSS_PAYLOADS } from '../helpers/xss-payloads';
import { ensureSae, MODEL, SAE, shot, signedIn, sql } from './support';

const run = Date.now().toString(36);
// pages refresh from the server after each post; on shared, busy machines that can take a few seconds
const expect = baseExpect.configure({ timeout: 20_000 });

/** the linked feature, the feature whose thread links it, and the feature whose thread gets the payloads */
let target: number;
let host: number;
let hostile: number;
let saeId: string;
const at = (index: number) => `/${MODEL}/${SAE}/${index}`;

/**
 * Opens a comment's reply or edit form. A click that lands before the thread hydrates does nothing (a heavy page on a
 * loaded machine hydrates late), so it is retried until the form shows.
 */
async function openForm(page: Page, button: 'comment-reply' | 'comment-edit', form: 'Reply' | 'Edit the comment') {
  const thread = page.getByTestId('comment-thread');
  await expect(async () => {
    if ((await thread.getByRole('form', { name: form }).count()) === 0) await thread.getByTestId(button).first().click();
    await expect(thread.getByRole('form', { name: form })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
}

/** Writes into one of the thread's forms (a new comment, a reply, an edit) and submits it. */
async function post(page: Page, body: string, form: 'New comment' | 'Reply' | 'Edit the comment' = 'New comment') {
  const f = page.getByTestId('comment-thread').getByRole('form', { name: form });
  await f.getByTestId('comment-input').fill(body);
  await f.getByTestId('comment-submit').click();
  // the form closes (reply, edit) or empties (new comment) once the server has the comment
  if (form === 'New comment') await expect(f.getByTestId('comment-input')).toHaveValue('');
  else await expect(f).toHaveCount(0);
}

test.beforeAll(async ({}, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE, { dashboards: true });
  const rows = await sql<{ index: number; sae_id: string }>(
    `select f.index, s.id as sae_id from feature f join sae s on s.current_run_id = f.run_id
     where s.slug = $1 and f.density between 0.001 and 0.2 order by f.max_act desc, f.index limit 40`,
    [SAE],
  );
  // features of their own (other files label and discuss the first ones)
  [target, host, hostile] = rows.slice(-3).map((r) => r.index) as [number, number, number];
  saeId = rows[0]!.sae_id;
});

test('post, reply, edit, delete; chips with a preview; a broken link; the backlink', async ({ browser }) => {
  test.setTimeout(240_000);
  const dee = await signedIn(browser, 'Dee');
  const eli = await signedIn(browser, 'Eli');
  const label = `opens quotes ${run}`;

  // Dee labels the target feature, then discusses it on another feature's page.
  await dee.goto(at(target));
  await dee.getByTestId('edit-feature').click();
  await dee.getByRole('textbox', { name: 'Label', exact: true }).fill(label);
  await dee.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(dee.getByTestId('feature-label')).toHaveText(label);

  await dee.goto(at(host));
  const thread = dee.getByTestId('comment-thread');
  await expect(thread).toContainText('No comments yet.');
  const body = [
    `Compare [[${MODEL}/${SAE}/${target}]] with [[${MODEL}/${SAE}/999999]] (no such feature).`,
    '',
    `Its density $d = \\frac{n}{N}$ is low[^1]. @eli what do you think?`,
    '',
    '[^1]: over 8,192 tokens',
  ].join('\n');
  // the preview renders the chip before posting
  await thread.getByTestId('comment-input').fill(body);
  await thread.getByTestId('comment-preview-button').click();
  await expect(thread.getByTestId('comment-preview').locator('a.feature-chip')).toContainText(label);
  await post(dee, body);
  const comment = thread.getByTestId('comment').first();
  await expect(comment.getByTestId('comment-body')).toContainText('Compare');
  const chip = comment.locator('a.feature-chip');
  await expect(chip).toHaveText(`${MODEL}/${SAE}/${target}${label}`);
  await expect(chip).toHaveAttribute('href', at(target));
  const broken = comment.locator('a.feature-link.broken');
  await expect(broken).toHaveText(`${MODEL}/${SAE}/999999`);
  await expect(broken).toHaveAttribute('title', 'no such feature');
  await expect(comment.locator('.katex')).toBeVisible();
  await expect(comment.locator('section.footnotes')).toContainText('over 8,192 tokens');

  // Hovering the chip shows the feature's label, density and top activation; so does keyboard focus.
  await chip.hover();
  const preview = dee.getByTestId('feature-preview');
  await expect(preview).toBeVisible();
  await expect(preview).toContainText(label);
  await expect(preview).toContainText(/density \d/);
  await expect(preview.getByTestId('feature-preview-snippet')).toBeVisible();
  await shot(dee, 'discussion-chip-preview', { fullPage: false });
  await dee.mouse.move(0, 0);
  await expect(preview).toHaveCount(0);
  await chip.focus();
  await expect(preview).toBeVisible();
  await expect(chip).toHaveAttribute('aria-describedby', /.+/);
  await dee.keyboard.press('Tab');

  // Eli was mentioned; he replies.
  await eli.goto(at(host));
  const eliThread = eli.getByTestId('comment-thread');
  await openForm(eli, 'comment-reply', 'Reply');
  await post(eli, `Agreed, and it is the opposite of [[${MODEL}/${SAE}/${host}]]?`, 'Reply');
  await expect(eliThread.getByTestId('comment')).toHaveCount(2);
  const reply = eliThread.getByTestId('comment').first().getByTestId('comment').first();
  await expect(reply.getByTestId('comment-author')).toHaveText('Eli');

  // Dee edits hers: an "edited" marker opens the earlier version.
  await dee.reload();
  await openForm(dee, 'comment-edit', 'Edit the comment');
  await post(dee, `Compare [[${MODEL}/${SAE}/${target}]]: I now think it is a quote feature.`, 'Edit the comment');
  const history = comment.getByTestId('comment-history').first();
  await expect(history).toBeVisible();
  await expect(comment.getByTestId('comment-body').first()).toContainText('I now think');
  await history.locator('summary').click();
  await expect(history).toContainText('version 1 of 2');
  await expect(history).toContainText('no such feature');
  await shot(dee, 'discussion-thread');

  // The target's page lists the comment under "Discussed in", linking back to it.
  await dee.goto(at(target));
  const backlink = dee.getByTestId('backlinks').getByTestId('backlink');
  await expect(backlink).toHaveCount(1);
  await expect(backlink).toContainText(`${MODEL}/${SAE}/${host}`);
  await expect(backlink).toContainText('I now think it is a quote feature');
  await shot(dee, 'discussion-backlinks');
  await backlink.getByRole('link').click();
  await expect(dee).toHaveURL(new RegExp(`${at(host)}#comment-`));

  // Read without JavaScript: the thread is server-rendered.
  const noJs = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await noJs.goto(at(host));
  await expect(noJs.getByTestId('comment-thread').getByTestId('comment')).toHaveCount(2);
  await expect(noJs.getByTestId('comment-body').first().locator('a.feature-chip')).toContainText(label);
  await expect(noJs.getByTestId('comment-thread')).toContainText('Sign in to comment.');

  // Dee deletes her comment: a tombstone keeps Eli's reply in place, and the backlink goes.
  dee.once('dialog', (d) => d.accept());
  await dee.goto(at(host));
  await thread.getByTestId('comment-delete').first().click();
  await expect(thread.getByTestId('comment-tombstone')).toHaveText(/comment deleted by Dee/);
  await expect(thread.locator('[data-deleted="true"]').getByTestId('comment')).toContainText('Agreed');
  await expect(thread.getByTestId('comment-edit')).toHaveCount(0);
  await shot(dee, 'discussion-tombstone');
  await dee.goto(at(target));
  await expect(dee.getByTestId('backlinks').getByTestId('backlink')).toHaveCount(0);

  // the SAE overview has a thread of its own
  await eli.goto(`/${MODEL}/${SAE}`);
  await expect(eli.getByTestId('comment-thread')).toBeVisible();
});

test(`${XSS_PAYLOADS.length} hostile markdown payloads render without executing anything`, async ({ browser }) => {
  test.setTimeout(240_000);
  const page = await signedIn(browser, 'Mallory');
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  await page.goto(at(hostile));

  // Every payload as a comment of its own, through the API the form uses (the page's session).
  for (const body of XSS_PAYLOADS) {
    const res = await page.request.post('/api/trpc/comment.post', {
      data: { json: { target: { kind: 'feature', saeId, index: hostile }, parentId: null, body } },
    });
    expect(res.status(), `${body}: ${await res.text()}`).toBe(200);
  }
  // ... and all of them at once in the live preview (HTML put into the page by the client).
  const thread = page.getByTestId('comment-thread');
  await thread.getByTestId('comment-input').fill(XSS_PAYLOADS.join('\n\n'));
  await thread.getByTestId('comment-preview-button').click();
  await expect(thread.getByTestId('comment-preview')).toContainText('click me');

  await page.reload();
  await expect(thread.getByTestId('comment')).toHaveCount(XSS_PAYLOADS.length);
  await thread.getByTestId('comment-input').fill(XSS_PAYLOADS.join('\n\n'));
  await thread.getByTestId('comment-preview-button').click();
  await expect(thread.getByTestId('comment-preview')).toContainText('click me');

  // Tempt every element: hover, focus and click (links only as events, so the page stays).
  const rendered = page.locator('[data-testid="comment-thread"] .markdown *');
  const n = await rendered.count();
  expect(n).toBeGreaterThan(XSS_PAYLOADS.length);
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('[data-testid="comment-thread"] .markdown *')) {
      for (const type of ['mouseover', 'mouseenter', 'focus', 'animationstart', 'toggle', 'load', 'error']) el.dispatchEvent(new Event(type));
      if (el instanceof HTMLElement && el.tagName !== 'A') el.click();
    }
  });
  await page.mouse.move(300, 300);
  await page.waitForTimeout(1_000);

  const verdict = await page.evaluate(() => {
    const root = document.querySelector('[data-testid="comment-thread"]')!;
    const all = [...root.querySelectorAll('*')];
    // what users wrote (the thread's own forms are the app's)
    const written = [...root.querySelectorAll('.markdown, .markdown *')];
    return {
      xss: (window as unknown as { __xss?: unknown }).__xss ?? null,
      scripts: document.querySelectorAll('main script').length,
      forbidden: written.filter((el) => ['IFRAME', 'OBJECT', 'EMBED', 'STYLE', 'FORM', 'META', 'BASE', 'LINK', 'SCRIPT'].includes(el.tagName)).map((el) => el.outerHTML.slice(0, 80)),
      handlers: all.flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName} ${a.name}`)),
      urls: all.flatMap((el) =>
        ['href', 'src', 'action', 'xlink:href', 'formaction']
          .map((name) => el.getAttribute(name))
          .filter((v): v is string => v !== null && !/^(?:https?:|mailto:|\/|#)/i.test(v.trim()) && /^\s*[\w+.-]+:/.test(v)),
      ),
      // no payload escaped its comment to cover the page
      fixed: all.filter((el) => getComputedStyle(el).position === 'fixed').length,
    };
  });
  expect(verdict).toEqual({ xss: null, scripts: 0, forbidden: [], handlers: [], urls: [], fixed: 0 });
  expect(dialogs).toEqual([]);
  await thread.getByTestId('comment').nth(Math.floor(XSS_PAYLOADS.length / 2)).scrollIntoViewIfNeeded();
  await shot(page, 'discussion-xss', { fullPage: false });
});
