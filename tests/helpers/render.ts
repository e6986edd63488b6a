/**
 * One server render, as React scopes its `cache` (server/render-memo.ts keeps a render's reads in it). Outside a
 * React server render `cache` keeps nothing, so a test that runs a page's calls as one render gives React's cache
 * this scope:
 *
 *   vi.mock('react', async (original) => ({ ...(await original<object>()), cache: (await import('../helpers/render')).renderCache }));
 *   await inOneRender(async () => { ... the page's calls ... });
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const render = new AsyncLocalStorage<Map<unknown, Map<string, unknown>>>();

/** React's `cache` as a server render has it: a function's value per arguments, kept until the render ends. */
export function renderCache<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
  return (...args) => {
    const memo = render.getStore();
    if (!memo) return fn(...args);
    const values = memo.get(fn) ?? new Map<string, unknown>();
    memo.set(fn, values);
    const key = JSON.stringify(args);
    if (!values.has(key)) values.set(key, fn(...args));
    return values.get(key) as T;
  };
}

/** Runs `calls` as one server render. */
export function inOneRender<T>(calls: () => Promise<T>): Promise<T> {
  return render.run(new Map(), calls);
}
