/** tRPC setup: context (db + session), error shape, and the procedures every router builds on. */
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import { InputError } from '@/compute/errors';
import { readableInputError } from './input-errors';
import { currentSession } from '../auth';
import { authorizeSite, viewerOf } from '../authz';
import { getDb, isConnectionLoss, retryOnConnectionLoss } from '../db';
import { DomainError, type DomainErrorKind } from '../errors';
import type { Role } from '../users';

export async function createContext(opts: { headers: Headers }) {
  const session = await currentSession();
  // `viewer` is what server/authz.ts decides on
  return { db: getDb(), session, viewer: viewerOf(session), headers: opts.headers };
}
export type Context = Awaited<ReturnType<typeof createContext>>;

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  // Subscriptions (server/api/routers/live.ts) stream over SSE; pings keep proxies from closing an idle stream, and a
  // client that hears nothing (not even a ping) for a while reconnects.
  sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 25_000 } },
  errorFormatter({ shape, error, path }) {
    // Input errors are shown to the user as one readable line naming the field.
    if (error.cause instanceof ZodError) return { ...shape, message: readableInputError(error.cause) };
    if (isConnectionLoss(error)) return { ...shape, message: 'the database is unreachable right now (restarting?): try again in a moment' };
    if (error.code !== 'INTERNAL_SERVER_ERROR') return shape;
    // An unexpected failure: its message may hold SQL text and parameters, a stack, paths. The client gets an id to
    // quote; the server's log has the rest under that id.
    const id = crypto.randomUUID().slice(0, 8);
    console.error(`[trpc] internal error ${id} in ${path ?? '(unknown procedure)'}:`, error);
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, message: `internal error (${id}): it has been logged; try again, or report this id`, data };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

const CODE_OF: Record<DomainErrorKind, TRPC_ERROR_CODE_KEY> = {
  'not-found': 'NOT_FOUND',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  conflict: 'CONFLICT',
  'bad-input': 'BAD_REQUEST',
  'not-ready': 'PRECONDITION_FAILED',
  'rate-limited': 'TOO_MANY_REQUESTS',
};

/**
 * The one place domain errors become tRPC's: a DomainError keeps its message under its kind's code, the compute
 * library's InputError (a bad prompt, an unknown token) is bad input; anything else stays as it was (unexpected
 * failures are internal errors, which the formatter gives an id).
 */
export function toTRPCError(err: unknown): TRPCError | undefined {
  const cause = err instanceof TRPCError && err.code === 'INTERNAL_SERVER_ERROR' ? err.cause : err;
  if (cause instanceof DomainError) return new TRPCError({ code: CODE_OF[cause.kind], message: cause.message, cause });
  if (cause instanceof InputError) return new TRPCError({ code: 'BAD_REQUEST', message: cause.message, cause });
  return undefined;
}

/** A subscription's events, with what it throws while streaming (an access check) mapped as above. */
async function* mappingErrors<T>(events: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (err) {
    throw toTRPCError(err) ?? err;
  }
}

const domainErrors = t.middleware(async ({ type, next }) => {
  const result = await next();
  if (!result.ok) return { ...result, error: toTRPCError(result.error) ?? result.error };
  if (type === 'subscription' && isAsyncIterable(result.data)) return { ...result, data: mappingErrors(result.data) };
  return result;
});

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

/**
 * Queries are reads: one that failed because PostgreSQL went away (a restart) is run again for a few seconds before
 * the error reaches the client. Mutations are not retried: the client is told, and decides.
 */
const retryReads = t.middleware(async ({ type, next }) => {
  if (type !== 'query') return next();
  let last: Awaited<ReturnType<typeof next>> | undefined;
  try {
    return await retryOnConnectionLoss(async () => {
      last = await next();
      if (!last.ok && isConnectionLoss(last.error)) throw last.error;
      return last;
    });
  } catch {
    return last!; // still failing after the retries: the client gets the error
  }
});

/** `ctx.viewer` always follows the session, also in contexts built from a session alone (callers in tests). */
export const publicProcedure = t.procedure
  .use(domainErrors)
  .use(retryReads)
  .use(({ ctx, next }) => next({ ctx: { ...ctx, viewer: viewerOf(ctx.session) } }));

/** Signed in, with at least `role` on the site (for site-wide actions; a model's or an SAE's are authorize()'s). */
export function roleProcedure(role: Role) {
  return publicProcedure.use(({ ctx, next }) => {
    const viewer = ctx.viewer;
    authorizeSite(viewer, role);
    return next({ ctx: { ...ctx, viewer, session: ctx.session! } });
  });
}

/** Any signed-in account (running compute needs one). */
export const protectedProcedure = roleProcedure('viewer');
