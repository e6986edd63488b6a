/** tRPC setup: context (db + session), error shape, and the procedures every router builds on. */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError, z } from 'zod';
import { auth } from '../auth';
import { viewerOf } from '../authz';
import { getDb } from '../db';
import type { Role } from '../users';

export async function createContext(opts: { headers: Headers }) {
  const session = await auth();
  // `viewer` is what server/authz.ts decides on
  return { db: getDb(), session, viewer: viewerOf(session), headers: opts.headers };
}
export type Context = Awaited<ReturnType<typeof createContext>>;

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    // Input errors are shown to the user as one readable line naming the field.
    const message = error.cause instanceof ZodError ? z.prettifyError(error.cause) : shape.message;
    return { ...shape, message };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure;

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** Signed in, with at least `role`. */
export function roleProcedure(role: Role) {
  return t.procedure.use(({ ctx, next }) => {
    if (!ctx.session?.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
    if (RANK[ctx.session.user.role] < RANK[role])
      throw new TRPCError({ code: 'FORBIDDEN', message: `this needs the ${role} role` });
    return next({ ctx: { ...ctx, session: ctx.session } });
  });
}

/** Any signed-in account (running compute needs one). */
export const protectedProcedure = roleProcedure('viewer');
