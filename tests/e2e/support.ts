/**
 * What the browser tests share: the data dir and database of the server playwright.config.ts starts, the CLI run
 * against them, the fixture SAE (made when missing, so any spec file runs alone), accounts, and screenshots
 * (test-results/screenshots/).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Browser, type Page } from '@playwright/test';
import pg from 'pg';
import { FIXTURES_DIR } from '../shared';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DATA_DIR = process.env.LEXICON_E2E_DATA!;
const SHOTS = path.join(ROOT, 'test-results/screenshots');
export const MODEL = 'stories260K';
/** The SAELens fixture trained on stories260K (../shared/fixtures), as most specs read it. */
export const SAE = 'e2e-l2';
export const CORPUS = 'e2e-corpus';
export const PASSWORD = 'a long password';

/** `npx lexicon …` against the test server's database. */
export function lexicon(...args: string[]): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'bin/lexicon.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, LEXICON_DATA_DIR: DATA_DIR },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 540_000,
  });
}

export async function sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(fs.readFileSync(path.join(DATA_DIR, 'pg-url'), 'utf8').trim());
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Registers the fixture SAE as `slug` when it is missing; with `dashboards`, also samples a corpus and computes them. */
export async function ensureSae(slug = SAE, { dashboards = false } = {}): Promise<void> {
  const [existing] = await sql<{ current_run_id: string | null }>(
    'select s.current_run_id from sae s join model m on m.id = s.model_id where m.slug = $1 and s.slug = $2',
    [MODEL, slug],
  );
  if (!existing) lexicon('sae', 'add', path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard'), '--model', MODEL, '--slug', slug);
  if (dashboards && !existing?.current_run_id) {
    lexicon('corpus', 'sample', '--model', MODEL, '--max-tokens', '8192', '--context', '128', '--seed', '1', '--name', CORPUS);
    lexicon('dashboards', '--model', MODEL, '--sae', slug, '--corpus', CORPUS);
  }
}

export async function newPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<Page> {
  return (await browser.newContext({ viewport })).newPage();
}

let accounts = 0;

/** Signs up a new account called `name` (an address of its own every time) on `page`; returns its email. */
export async function signUp(page: Page, name: string): Promise<string> {
  const email = `${name.toLowerCase()}-${Date.now().toString(36)}-${accounts++}@example.org`;
  await page.goto('/signup');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByTestId('current-user')).toContainText(name, { timeout: 60_000 });
  return email;
}

/** A page in a browser context of its own, signed in as a new account called `name`. */
export async function signedIn(browser: Browser, name: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await newPage(browser, viewport);
  await signUp(page, name);
  return page;
}

/** A screenshot into test-results/screenshots/NAME.png, once the charts on the page have been drawn. */
export async function shot(page: Page, name: string, { fullPage = true, charts = true } = {}): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  for (const chart of charts ? await page.locator('figure.plot').all() : []) {
    if (await chart.isVisible()) await expect(chart).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  }
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}
