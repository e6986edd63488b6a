/** Reading live events in tests: collect what an async iterable yields, and wait for a matching one. */
export class EventLog<T> {
  readonly seen: T[] = [];
  private waiters: { match: (e: T) => boolean; resolve: (e: T) => void }[] = [];
  readonly done: Promise<void>;

  constructor(source: AsyncIterable<T>) {
    this.done = (async () => {
      try {
        for await (const event of source) {
          this.seen.push(event);
          this.waiters = this.waiters.filter((w) => !(w.match(event) && (w.resolve(event), true)));
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err;
      }
    })();
  }

  /** The first event (already seen, or still to come) that matches; fails after `timeoutMs`. */
  next(match: (e: T) => boolean, timeoutMs = 10_000, from = 0): Promise<T> {
    const found = this.seen.slice(from).find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching event in ${timeoutMs} ms; seen: ${JSON.stringify(this.seen)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
