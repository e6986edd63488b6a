/**
 * A worker's wait for something to happen elsewhere (a notification) with a poll as the fallback: `wait(ms)` returns
 * at the next `set()`, or after `ms`; a `set()` while nobody waits is kept for the next wait, so that a notification
 * arriving between a look and the wait is not lost.
 */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  set(): void {
    this.pending = true;
    this.wake?.();
  }

  async wait(ms: number): Promise<void> {
    if (!this.pending) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.wake?.(), ms);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    this.pending = false;
  }
}
