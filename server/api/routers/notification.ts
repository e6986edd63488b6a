/** Notifications (the /notifications page and the unread count in the header) and watches. */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { saes } from '@/drizzle/schema';
import { authorize, type Viewer } from '../../authz';
import { isUuid, type Db } from '../../db';
import { notFound } from '../../errors';
import { hypothesisFeaturesFor } from '../../hypotheses';
import { isWatching, listNotifications, markRead, unreadCount, unwatch, watch } from '../../notifications';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const watchTarget = z.object({
  kind: z.enum(['feature', 'sae', 'hypothesis']),
  /** `${saeId}/${index}` for a feature, the id for an SAE or a hypothesis */
  targetId: z.string().max(100),
});
type WatchTarget = z.infer<typeof watchTarget>;

/** Watching needs the comment action on what is watched (on every SAE a hypothesis touches); NOT_FOUND for ids that cannot exist. */
async function authorizeWatch(db: Db, viewer: Viewer, { kind, targetId }: WatchTarget): Promise<void> {
  const unknown = () => notFound(`no ${kind} "${targetId}"`);
  if (kind === 'hypothesis') {
    await hypothesisFeaturesFor(db, viewer, targetId, 'comment');
    return;
  }
  const match = kind === 'feature' ? /^([^/]+)\/(\d{1,10})$/.exec(targetId) : [targetId, targetId];
  if (!match || !isUuid(match[1]!)) throw unknown();
  const [sae] = await db.select({ dSae: saes.dSae }).from(saes).where(eq(saes.id, match[1]!));
  if (!sae || (kind === 'feature' && Number(match[2]) >= sae.dSae)) throw unknown();
  await authorize(db, viewer, 'comment', { sae: match[1]! }, `${kind} "${targetId}"`);
}

export const notificationRouter = createTRPCRouter({
  /** The signed-in user's notifications, newest first (`before`: the createdAt of the last one shown); those about what they may no longer see without their text. */
  list: protectedProcedure
    .input(z.object({ before: z.date().optional(), limit: z.number().int().min(1).max(100).default(50), unreadOnly: z.boolean().default(false) }).default({ limit: 50, unreadOnly: false }))
    .query(({ ctx, input }) => listNotifications(ctx.db, ctx.viewer, input)),

  unreadCount: protectedProcedure.query(({ ctx }) => unreadCount(ctx.db, ctx.session.user.id)),

  markRead: protectedProcedure.input(z.object({ ids: z.array(z.uuid()).min(1).max(500) })).mutation(async ({ ctx, input }) => {
    await markRead(ctx.db, ctx.session.user.id, input.ids);
  }),

  markAllRead: protectedProcedure.mutation(async ({ ctx }) => {
    await markRead(ctx.db, ctx.session.user.id);
  }),

  /** Whether the viewer watches the target (null when signed out). */
  watching: publicProcedure
    .input(watchTarget)
    .query(async ({ ctx, input }): Promise<boolean | null> => (ctx.viewer ? isWatching(ctx.db, ctx.viewer.id, input.kind, input.targetId) : null)),

  watch: protectedProcedure.input(watchTarget.extend({ watching: z.boolean() })).mutation(async ({ ctx, input }) => {
    await authorizeWatch(ctx.db, ctx.viewer, input);
    if (input.watching) await watch(ctx.db, ctx.session.user.id, input.kind, input.targetId);
    else await unwatch(ctx.db, ctx.session.user.id, input.kind, input.targetId);
    return input.watching;
  }),
});
