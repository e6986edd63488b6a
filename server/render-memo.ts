/**
 * Reads kept for one server render, which a broader read may answer first: the feature page's one statement carries
 * its SAE, the reader's access to it, the hypotheses, the backlinks and the comment thread, so the page's other
 * sections need not read them again. Outside a render
 * (API calls, live streams) React's cache keeps nothing, so every call reads: access is still checked at read time.
 */
import { cache } from 'react';
import type { Viewer } from './authz';

/** A key for what `viewer` may see of a thing named by `parts`: it depends on their id and site role only. */
export const viewerKey = (viewer: Viewer, ...parts: (string | number)[]) => [...parts, viewer?.id ?? '', viewer?.role ?? ''].join(':');

export interface RenderMemo<T> {
  /** the value read (or given) earlier in this render under `key`, else `read()`'s, kept for the rest of it */
  get(key: string, read: () => Promise<T>): Promise<T>;
  /** what a broader read found, for the rest of this render */
  set(key: string, value: T): void;
}

export function renderMemo<T>(): RenderMemo<T> {
  const store = cache(() => new Map<string, Promise<T>>());
  return {
    get(key, read) {
      const memo = store();
      let value = memo.get(key);
      if (!value) {
        value = read();
        memo.set(key, value);
      }
      return value;
    },
    set(key, value) {
      store().set(key, Promise.resolve(value));
    },
  };
}
