/**
 * Passwords: what a new one must be (long enough, not one of the most common, not the account's own email or name),
 * and argon2id hashing and verifying through a bounded queue, so that a burst of sign-ins cannot starve the server:
 * at most ARGON2_CONCURRENCY hashes at once per process, at most ARGON2_QUEUE waiting behind them, and beyond that a
 * "busy, try again" error (Argon2Busy) at once instead of an ever longer wait.
 *
 * A sign-in for an unknown email verifies against a dummy hash (verifyDummy), the same work as for a real account,
 * so the time of the answer does not tell whether the account exists.
 */
import os from 'node:os';
import crypto from 'node:crypto';
import argon2 from 'argon2';
import { COMMON_PASSWORDS } from './common-passwords';
import { wholeNumberSetting } from './env';
import { DomainError } from './errors';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 200;

let common: Set<string> | undefined;

/** ./common-passwords: the 10,000 most common passwords of 8 characters or more, lower case. */
function commonPasswords(): Set<string> {
  common ??= new Set(COMMON_PASSWORDS.split('\n').filter(Boolean));
  return common;
}

/** Whether `password` is one of the most common passwords (any case). */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}

/**
 * Why `password` is too weak for an account, or null when it will do. `account` (its email and name) refuses the
 * password that is just one of those.
 */
export function weakPasswordReason(password: string, account: { email?: string; name?: string } = {}): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password is longer than ${MAX_PASSWORD_LENGTH} characters`;
  if (/^(.)\1*$/su.test(password)) return 'password must not be one character repeated';
  if (isCommonPassword(password)) return 'this password is one of the most common passwords: choose another one';
  const lower = password.toLowerCase();
  const own = [account.email, account.email?.split('@')[0], account.name, account.name?.replace(/\s+/g, '')];
  if (own.some((s) => s && s.toLowerCase() === lower)) return 'password must not be your email or your name';
  return null;
}

// ---- the bounded argon2 queue --------------------------------------------------------------------------------------

/** A hash or verify refused at once: ARGON2_CONCURRENCY are running and ARGON2_QUEUE wait already. */
export class Argon2Busy extends DomainError {
  constructor() {
    super('rate-limited', 'the server is busy checking passwords: try again in a few seconds');
  }
}

/** At most `concurrency` tasks run at once; at most `queue` wait; more are refused with Argon2Busy. */
export class BoundedQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    public concurrency: number,
    public queue: number,
  ) {}

  get stats() {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= Math.max(1, this.concurrency)) {
      if (this.waiting.length >= this.queue) throw new Argon2Busy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      // hand the slot straight to the next waiter (running stays the same), or free it
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * argon2's own thread pool is libuv's (UV_THREADPOOL_SIZE, 4 by default), shared with file and DNS work, and each hash
 * keeps a core busy: by default one hash fewer than either, so a flood of sign-ins always leaves a core to serve pages
 * (bench:abuse (d): three at once on 2 cores put the health check's p99 at 0.7 s).
 */
const DEFAULT_CONCURRENCY = Math.max(1, Math.min(Number(process.env.UV_THREADPOOL_SIZE) || 4, os.availableParallelism(), 8) - 1);
export const argon2Queue = new BoundedQueue(
  wholeNumberSetting('LEXICON_ARGON2_CONCURRENCY', DEFAULT_CONCURRENCY, { min: 0 }),
  wholeNumberSetting('LEXICON_ARGON2_QUEUE', 32, { min: 0 }),
);

/** How many argon2 hashes and verifies this process has run (tests count the work of a sign-in). */
export const argon2Calls = { hash: 0, verify: 0 };

export async function hashPassword(password: string): Promise<string> {
  return argon2Queue.run(() => {
    argon2Calls.hash++;
    return argon2.hash(password, { type: argon2.argon2id });
  });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  return argon2Queue.run(() => {
    argon2Calls.verify++;
    return argon2.verify(hash, password);
  });
}

let dummy: Promise<string> | undefined;

/**
 * Verifies `password` against the hash of a random password made once per process (with the same parameters as
 * every account's): the work of a sign-in for an account that does not exist. Always false.
 */
export async function verifyDummy(password: string): Promise<false> {
  dummy ??= argon2.hash(crypto.randomBytes(24).toString('base64'), { type: argon2.argon2id });
  await verifyPassword(await dummy, password);
  return false;
}
