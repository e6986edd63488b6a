/**
 * HTML rendered from data that never changes under its key (a dashboard run's example lists: the key names the run,
 * the feature row's version and everything else shown), kept in this web process so that the next reader of the
 * page gets it without rendering it again, and so that a client component's server render can take it by its key
 * (app/_lib/rendered-html.ts) rather than from its props. The least recently used entries go beyond a budget of
 * characters (about bytes: the lines are mostly ASCII); nothing here is per reader, so the caller checks access
 * before asking.
 */
import { createHash } from 'node:crypto';
import { renderedHtmlStore } from '@/app/_lib/rendered-html';

/** About 2,000 example lists of a feature page (each 1–10 KB). */
const BUDGET = 16 * 1024 * 1024;

/** The HTML stored under `key`, or `render()`'s, stored. */
export function cachedHtml(key: string, render: () => string): string {
  const store = renderedHtmlStore();
  const hit = store.entries.get(key);
  if (hit !== undefined) {
    // most recently used last
    store.entries.delete(key);
    store.entries.set(key, hit);
    return hit;
  }
  const html = render();
  store.entries.set(key, html);
  store.characters += html.length;
  for (const [oldest, value] of store.entries) {
    if (store.characters <= BUDGET) break;
    store.entries.delete(oldest);
    store.characters -= value.length;
  }
  return html;
}

/**
 * Keeps HTML rendered for this request (what it shows may change with any edit, so there is no key to find it by
 * beforehand) for a client component's server render, and returns its key: `kind` and a hash of the HTML, so the
 * same page shown again shares one entry.
 */
export function keepHtml(kind: string, html: string): string {
  const key = `${kind}:${createHash('sha256').update(html).digest('base64url')}`;
  cachedHtml(key, () => html);
  return key;
}
