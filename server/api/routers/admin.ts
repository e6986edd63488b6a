/** Site administration: accounts (site role, disabled), the audit log and the explainer endpoint. Admins only. */
import { z } from 'zod';
import { auditEntries } from '../../audit';
import { clearExplainer, explainerInput, explainerStatus, setExplainer } from '../../explainer/settings';
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

  /** The explainer endpoint as set (its key only as set or not: it never leaves the server). */
  explainer: adminProcedure.query(({ ctx }) => explainerStatus(ctx.db)),

  setExplainer: adminProcedure.input(explainerInput).mutation(({ ctx, input }) => setExplainer(ctx.db, input, ctx.viewer.id)),

  /** Back to the environment's endpoint (LEXICON_EXPLAINER_URL…), or none. */
  clearExplainer: adminProcedure.mutation(({ ctx }) => clearExplainer(ctx.db)),

  audit: adminProcedure
    .input(z.object({ before: z.number().int().positive().optional(), limit: z.number().int().min(1).max(200).default(100) }).default({ limit: 100 }))
    .query(({ ctx, input }) => auditEntries(ctx.db, input)),
});
