/** Site administration: accounts (site role, disabled) and the audit log. Admins only. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { auditEntries } from '../../audit';
import { listUsers, setDisabled, setRole, UserChangeError } from '../../users';
import { createTRPCRouter, roleProcedure } from '../trpc';

const adminProcedure = roleProcedure('admin');
const userId = z.string().min(1).max(100);

async function change(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (err instanceof UserChangeError) throw new TRPCError({ code: err.code, message: err.message });
    throw err;
  }
}

export const adminRouter = createTRPCRouter({
  users: adminProcedure.query(({ ctx }) => listUsers(ctx.db)),

  setRole: adminProcedure
    .input(z.object({ userId, role: z.enum(['viewer', 'editor', 'admin']) }))
    .mutation(({ ctx, input }) => change(setRole(ctx.db, input.userId, input.role, ctx.viewer.id))),

  setDisabled: adminProcedure
    .input(z.object({ userId, disabled: z.boolean() }))
    .mutation(({ ctx, input }) => change(setDisabled(ctx.db, input.userId, input.disabled, ctx.viewer.id))),

  audit: adminProcedure
    .input(z.object({ before: z.number().int().positive().optional(), limit: z.number().int().min(1).max(200).default(100) }).default({ limit: 100 }))
    .query(({ ctx, input }) => auditEntries(ctx.db, input)),
});
