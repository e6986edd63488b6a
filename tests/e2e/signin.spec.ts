/**
 * Signing up and in, in the browser: a common password is refused with the reason; after sign-in a callbackUrl that
 * points elsewhere (`//host`, `/\host`, `/<tab>/host`, `https://host`) lands on this site's home page; repeated
 * failures say when to try again.
 */
import { expect, test, type Browser } from '@playwright/test';
import { newPage, PASSWORD, signUp } from './support';

const run = Date.now().toString(36);
let email: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  const page = await newPage(browser);
  email = await signUp(page, 'Cal');
  await page.context().close();
});

test('sign-up refuses a common password, saying why', async ({ page }) => {
  await page.goto('/signup');
  await page.getByLabel('Name').fill('Wendy');
  await page.getByLabel('Email').fill(`wendy-${run}@example.org`);
  await page.getByLabel(/^Password/).fill('password1');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.locator('.error[role=alert]')).toContainText('one of the most common passwords');
});

async function signInWith(browser: Browser, callbackUrl: string): Promise<URL> {
  const page = await newPage(browser);
  await page.goto(`/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('current-user')).toContainText('Cal');
  const url = new URL(page.url());
  await page.context().close();
  return url;
}

for (const target of ['//evil.example', '/\\evil.example', '/\t/evil.example', 'https://evil.example/']) {
  test(`after sign-in, callbackUrl ${JSON.stringify(target)} stays on this site`, async ({ browser, baseURL }) => {
    const url = await signInWith(browser, target);
    expect(url.host).toBe(new URL(baseURL!).host);
    expect(url.pathname).toBe('/');
  });
}

test('after sign-in, a callbackUrl on this site is followed', async ({ browser }) => {
  expect((await signInWith(browser, '/teams')).pathname).toBe('/teams');
});

test('repeated failed sign-ins say when to try again', async ({ page }) => {
  await page.goto('/signin');
  await page.getByLabel('Email').fill(`nobody-${run}@example.org`);
  for (let i = 1; i <= 5; i++) {
    await page.getByLabel('Password').fill(`wrong password ${i}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('.error[role=alert]')).toContainText(i < 5 ? 'Wrong email or password.' : 'Too many failed sign-ins');
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  }
  await expect(page.locator('.error[role=alert]')).toContainText(/try again in \d+ seconds?/);
});
