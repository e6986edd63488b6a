import { expect, it } from 'vitest';
import { Wakeup } from '@/worker/wakeup';

/** Resolves with whether `promise` settled within `ms` (the test's limits are far above what a wait should take). */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

it('wakes a waiter at set(), keeps a set() made while nobody waits for the next wait, and falls back to the timeout', async () => {
  const wakeup = new Wakeup();
  const waiting = wakeup.wait(60_000);
  wakeup.set();
  expect(await settlesWithin(waiting, 5_000)).toBe(true);

  // a notification between a look and the wait is not lost
  wakeup.set();
  expect(await settlesWithin(wakeup.wait(60_000), 5_000)).toBe(true);
  // ... and counts once
  const third = wakeup.wait(60_000);
  expect(await settlesWithin(third, 200)).toBe(false);
  wakeup.set();
  await third;

  // no set(): the wait ends at its timeout
  const fresh = new Wakeup();
  expect(await settlesWithin(fresh.wait(10), 5_000)).toBe(true);
});
