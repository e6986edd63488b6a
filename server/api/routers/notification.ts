/** Notifications (the /notifications page and the unread count in the header) and watches. */
import { TRPCError } from '@trpc/server';
import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { notifications, saes, users, watches } from '@/drizzle/schema';
import { authorize, type Viewer } from '../../authz';
import type { Db } from '../../db';
import { hypothesisFeaturesFor } from '../../hypotheses';
import { markRead, unwatch, watch } from '../../notifications';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const watchTarget = z.object({
  kind: z.enum(['feature', 'sae', 'hypothesis']),
  /** `${saeId}/${index}` for a feature, the id for an SAE or a hypothesis */
  targetId: z.string().max(100),
});
type WatchTarget = z.infer<typeof watchTarget>;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Watching needs the comment action on what is watched (on every SAE a hypothesis touches); NOT_FOUND for ids that cannot exist. */
async function authorizeWatch(db: Db, viewer: Viewer, { kind, targetId }: WatchTarget): Promise<void> {
  const notFound = () => new TRPCError({ code: 'NOT_FOUND', message: `no ${kind} "${targetId}"` });
  if (kind === 'hypothesis') {
    await hypothesisFeaturesFor(db, viewer, targetId, 'comment');
    return;
  }
  const match = kind === 'feature' ? /^([^/]+)\/(\d{1,10})$/.exec(targetId) : [targetId, targetId];
  if (!match || !uuid.test(match[1]!)) throw notFound();
  const [sae] = await db.select({ dSae: saes.dSae }).from(saes).where(eq(saes.id, match[1]!));
  if (!sae || (kind === 'feature' && Number(match[2]) >= sae.dSae)) throw notFound();
  await authorize(db, viewer, 'comment', { sae: match[1]! }, `${kind} "${targetId}"`);
}

export const notificationRouter = createTRPCRouter({
  /** The signed-in user's notifications, newest first (`before`: the createdAt of the last one shown). */
  list: protectedProcedure
    .input(z.object({ before: z.date().optional(), limit: z.number().int().min(1).max(100).default(50), unreadOnly: z.boolean().default(false) }).default({ limit: 50, unreadOnly: false }))
    .query(async ({ ctx, input }) => {
      return ctx.db
        .select({
          id: notifications.id,
          kind: notifications.kind,
          summary: notifications.summary,
          url: notifications.url,
          createdAt: notifications.createdAt,
          readAt: notifications.readAt,
          actor: users.name,
        })
        .from(notifications)
        .leftJoin(users, eq(users.id, notifications.actorId))
        .where(
          and(
            eq(notifications.userId, ctx.session.user.id),
            input.before ? lt(notifications.createdAt, input.before) : undefined,
            input.unreadOnly ? isNull(notifications.readAt) : undefined,
          ),
        )
        .orderBy(desc(notifications.createdAt))
        .limit(input.limit);
    }),

  unreadCount: protectedProcedure.query(async ({ ctx }) => {
    const [row] = await ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(notifications)
      .where(and(eq(notifications.userId, ctx.session.user.id), isNull(notifications.readAt)));
    return row?.n ?? 0;
  }),

  markRead: protectedProcedure.input(z.object({ ids: z.array(z.uuid()).min(1).max(500) })).mutation(async ({ ctx, input }) => {
    await markRead(ctx.db, ctx.session.user.id, input.ids);
  }),

  markAllRead: protectedProcedure.mutation(async ({ ctx }) => {
    await ctx.db
      .update(notifications)
      .set({ readAt: new Date() })
      .where(and(eq(notifications.userId, ctx.session.user.id), isNull(notifications.readAt)));
  }),

  /** Whether the viewer watches the target (null when signed out). */
  watching: publicProcedure.input(watchTarget).query(async ({ ctx, input }): Promise<boolean | null> => {
    if (!ctx.viewer) return null;
    const rows = await ctx.db
      .select({ kind: watches.kind })
      .from(watches)
      .where(and(eq(watches.userId, ctx.viewer.id), eq(watches.kind, input.kind), eq(watches.targetId, input.targetId)));
    return rows.length > 0;
  }),

  watch: protectedProcedure.input(watchTarget.extend({ watching: z.boolean() })).mutation(async ({ ctx, input }) => {
    await authorizeWatch(ctx.db, ctx.viewer, input);
    if (input.watching) await watch(ctx.db, ctx.session.user.id, input.kind, input.targetId);
    else await unwatch(ctx.db, ctx.session.user.id, input.kind, input.targetId);
    return input.watching;
  }),
});
