/**
 * The one error domain code throws for a refusal meant to be read as is: what was asked for is not there (or hidden),
 * needs an account, is not allowed, conflicts with the current state, is malformed, is not ready, or comes too often.
 * server/api/trpc.ts turns its kind into the tRPC code in one place; anything else thrown is a bug, and reaches the
 * client as an internal error with an id.
 */
export type DomainErrorKind = 'not-found' | 'unauthenticated' | 'forbidden' | 'conflict' | 'bad-input' | 'not-ready' | 'rate-limited';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

// Each takes the whole message, written for the person who asked.
export const notFound = (message: string) => new DomainError('not-found', message);
export const unauthenticated = (message = 'sign in first') => new DomainError('unauthenticated', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const badInput = (message: string, cause?: unknown) => new DomainError('bad-input', message, { cause });
/** What was asked for needs something done first (a dashboard computed, a job finished). */
export const notReady = (message: string) => new DomainError('not-ready', message);
