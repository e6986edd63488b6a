/** Site administration: accounts (site role, disabled) and the audit log. Admins only. */
import { z } from 'zod';
import { auditEntries } from '../../audit';
import { listUsers, setDisabled, setRole } from '../../users';
import { createTRPCRouter, roleProcedure } from '../trpc';

const adminProcedure = roleProcedure('admin');
const userId = z.string().min(1).max(100);

export const adminRouter = createTRPCRouter({
  users: adminProcedure.query(({ ctx }) => listUsers(ctx.db)),

  setRole: adminProcedure
    .input(z.object({ userId, role: z.enum(['viewer', 'editor', 'admin']) }))
    .mutation(({ ctx, input }) => setRole(ctx.db, input.userId, input.role, ctx.viewer.id)),

  setDisabled: adminProcedure
    .input(z.object({ userId, disabled: z.boolean() }))
    .mutation(({ ctx, input }) => setDisabled(ctx.db, input.userId, input.disabled, ctx.viewer.id)),

  audit: adminProcedure
    .input(z.object({ before: z.number().int().positive().optional(), limit: z.number().int().min(1).max(200).default(100) }).default({ limit: 100 }))
    .query(({ ctx, input }) => auditEntries(ctx.db, input)),
});
