/**
 * HTML rendered from data that never changes under its key (a dashboard run's example lists: the key names the run,
 * the feature row's version and everything else shown), kept in this web process so that the next reader of the
 * page gets it without rendering it again. The least recently used entries go beyond a budget of characters (about
 * bytes: the lines are mostly ASCII); nothing here is per reader, so the caller checks access before asking.
 */

/** About 2,000 example lists of a feature page (each 1–10 KB). */
const BUDGET = 16 * 1024 * 1024;

const entries = new Map<string, string>();
let bytes = 0;

/** The HTML stored under `key`, or `render()`'s, stored. */
export function cachedHtml(key: string, render: () => string): string {
  const hit = entries.get(key);
  if (hit !== undefined) {
    // most recently used last
    entries.delete(key);
    entries.set(key, hit);
    return hit;
  }
  const html = render();
  entries.set(key, html);
  bytes += html.length;
  for (const [oldest, value] of entries) {
    if (bytes <= BUDGET) break;
    entries.delete(oldest);
    bytes -= value.length;
  }
  return html;
}
