/**
 * HTML the server has rendered and keeps (server/html-cache.ts), readable by a client component during its server
 * render, so that the HTML reaches the page without travelling in the component's props (the flight data) too. A
 * request's server components and the server render of its client components run in the same Node.js process but
 * in separate module graphs, so the store is on globalThis. In the browser there is none: a client component
 * fetches what it was not given.
 */

/** The cache's entries, most recently used last, and their size in characters. */
export interface RenderedHtmlStore {
  entries: Map<string, string>;
  characters: number;
}

const STORE = Symbol.for('lexicon.rendered-html');

/** The process's store (made on first use). Server code only: the browser has nothing to put in it. */
export function renderedHtmlStore(): RenderedHtmlStore {
  const global = globalThis as typeof globalThis & { [STORE]?: RenderedHtmlStore };
  return (global[STORE] ??= { entries: new Map(), characters: 0 });
}

/** The HTML kept under `key` while rendering on the server; undefined in the browser, or once it has been dropped. */
export function renderedHtml(key: string): string | undefined {
  return typeof window === 'undefined' ? renderedHtmlStore().entries.get(key) : undefined;
}
