/**
 * Teams and visibility in the browser: an admin creates a team, invites a member (who accepts on the Teams page),
 * makes an SAE team-only; an outsider
 * then no longer sees it anywhere (home page, search, its feature URL answers the 404 page) while the member does;
 * the audit log shows the changes. The SAE is the fixture SAE on stories260K registered under a slug of its own, so
 * hiding it changes nothing for the other spec files. Screenshots go to test-results/screenshots/.
 */
import { expect, test, type Page } from '@playwright/test';
import { ensureSae, MODEL, newPage, shot, signedIn, signUp, sql } from './support';

const SAE = 'e2e-team';
const run = Date.now().toString(36);
const LABEL = `lighthouse keeper ${run}`;
const TEAM = `lab-${run}`;
const FEATURE_URL = `/${MODEL}/${SAE}/3`;

test.describe.configure({ mode: 'serial' });

let admin: Page;
let member: Page;
let outsider: Page;
let memberEmail: string;

test.beforeAll(async ({ browser }, info) => {
  info.setTimeout(600_000);
  await ensureSae(SAE);
  // A labelled feature to search for (the wiki edit itself is feature.spec.ts's business).
  await sql(
    `insert into feature_page (sae_id, index, label, body, revision)
     select s.id, 3, $3, '', 1 from sae s join model m on m.id = s.model_id where m.slug = $1 and s.slug = $2
     on conflict (sae_id, index) do update set label = excluded.label`,
    [MODEL, SAE, LABEL],
  );
  admin = await newPage(browser);
  await sql(`update "user" set role = 'admin' where email = $1`, [await signUp(admin, 'Ada')]);
  member = await newPage(browser);
  memberEmail = await signUp(member, 'Mel');
  outsider = await signedIn(browser, 'Otto');
});

test('an admin creates a team, invites a member who joins, and makes an SAE team-only', async () => {
  await admin.goto('/teams');
  await expect(admin.getByTestId('current-user')).toContainText('admin');
  await admin.getByLabel('Name').fill('The Lab');
  await admin.getByLabel(/^Slug/).fill(TEAM);
  await admin.getByRole('button', { name: 'Create team' }).click();
  await expect(admin).toHaveURL(new RegExp(`/teams/${TEAM}$`));
  await expect(admin.getByTestId('members')).toContainText('Ada');
  await admin.getByTestId('member-email').fill(memberEmail);
  await admin.getByTestId('member-role').selectOption('editor');
  await admin.getByRole('button', { name: 'Invite' }).click();
  // the same answer whether or not the email has an account; the invitation waits until Mel accepts
  await expect(admin.getByTestId('invited')).toContainText(`invited ${memberEmail} as editor`);
  await expect(admin.getByTestId('invitations')).toContainText(memberEmail);
  await expect(admin.getByTestId('members')).not.toContainText('Mel');
  await member.goto('/teams');
  const invitations = member.getByTestId('my-invitations');
  await expect(invitations).toContainText('The Lab invites you as editor');
  await shot(member, 'team-invitation');
  await invitations.getByRole('button', { name: 'Join' }).click();
  await expect(member).toHaveURL(new RegExp(`/teams/${TEAM}$`));
  await expect(member.getByTestId('members')).toContainText('Mel');
  await admin.reload();
  await expect(admin.getByTestId('members')).toContainText('Mel');
  await expect(admin.getByTestId('invitations')).toHaveCount(0);
  await expect(admin.getByLabel('Role of Mel')).toHaveValue('editor');
  // A team always keeps a maintainer: demoting the only one is refused, with the reason.
  await admin.getByLabel('Role of Ada').selectOption('viewer');
  await expect(admin.getByTestId('members').getByRole('alert')).toContainText('a team needs a maintainer');
  await shot(admin, 'team-page');

  await admin.goto(`/${MODEL}/${SAE}`);
  const settings = admin.getByTestId('access-settings');
  await settings.getByTestId('access-team').selectOption({ label: `The Lab (${TEAM})` });
  await settings.getByTestId('access-visibility').selectOption('team');
  await settings.getByRole('button', { name: 'Save access' }).click();
  await expect(admin.getByTestId('access-line')).toContainText('visible to the team only');
  await expect(admin.getByTestId('access-line')).toContainText('The Lab');
  await shot(admin, 'sae-access-settings');
});

test('an outsider no longer sees the SAE anywhere; the member does', async () => {
  await outsider.goto('/');
  await expect(outsider.getByRole('heading', { name: 'Models' })).toBeVisible();
  await expect(outsider.getByRole('link', { name: SAE, exact: true })).toHaveCount(0);
  await outsider.goto(`/search?q=${encodeURIComponent(LABEL)}`);
  await expect(outsider.getByTestId('text-results')).toContainText('No feature page matches');
  await shot(outsider, 'outsider-search');
  for (const url of [FEATURE_URL, `/${MODEL}/${SAE}`, `/${MODEL}/${SAE}/features`]) {
    const response = await outsider.goto(url);
    expect(response?.status(), url).toBe(404);
    await expect(outsider.getByText(/could not be found|404/i).first()).toBeVisible();
  }
  await shot(outsider, 'outsider-feature-404');
  const api = await outsider.request.get(`/api/trpc/feature.get?input=${encodeURIComponent(JSON.stringify({ json: { model: MODEL, sae: SAE, index: 3 } }))}`);
  expect(api.status()).toBe(404);
  expect(await api.text()).toContain(`no feature ${MODEL}/${SAE}/3`);

  await member.goto('/');
  await expect(member.getByRole('link', { name: SAE, exact: true }).first()).toBeVisible();
  await member.goto(`/search?q=${encodeURIComponent(LABEL)}`);
  await expect(member.getByTestId('text-results')).toContainText(LABEL);
  const response = await member.goto(FEATURE_URL);
  expect(response?.status()).toBe(200);
  await expect(member.getByText(LABEL).first()).toBeVisible();
  await shot(member, 'member-feature');

  // Anonymous visitors do not see it either.
  const visitor = await (await outsider.context().browser()!.newContext()).newPage();
  expect((await visitor.goto(FEATURE_URL))?.status()).toBe(404);
  await visitor.close();
});

test('the audit log shows the team, membership and visibility changes', async () => {
  await admin.goto('/admin/audit');
  const log = admin.getByTestId('audit');
  await expect(log.locator('tr', { hasText: 'access.set' }).first()).toContainText(`${MODEL}/${SAE}`);
  await expect(log.locator('tr', { hasText: 'access.set' }).first()).toContainText(`public → team (${TEAM})`);
  await expect(log.locator('tr', { hasText: 'team.member.add' }).first()).toContainText('added Mel as editor');
  await expect(log.locator('tr', { hasText: 'team.create' }).first()).toContainText(TEAM);
  await shot(admin, 'audit-log');

  await admin.goto('/admin/users');
  await admin.getByLabel('Site role of Otto').selectOption('viewer');
  await expect(admin.getByLabel('Site role of Otto')).toHaveValue('viewer');
  await shot(admin, 'admin-users');
  await admin.goto('/admin/audit');
  await expect(admin.getByTestId('audit').locator('tr', { hasText: 'user.role' }).first()).toContainText('editor → viewer');

  // The admin pages do not exist for others.
  expect((await member.goto('/admin/audit'))?.status()).toBe(404);
});
