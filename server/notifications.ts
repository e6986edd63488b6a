/**
 * Notifications: rows a user reads on /notifications (with an unread count in the header), written in the same
 * transaction as what caused them, each followed by a live event on the user's topic.
 */
import { and, desc, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { models, notifications, saes, users, watches } from '@/drizzle/schema';
import type { Db } from './db';
import { publish, userTopic } from './events';
import { displayNameSql } from './users';

export type NotificationKind = 'mention' | 'comment' | 'label' | 'hypothesis-status' | 'evidence' | 'job';
export type WatchKind = (typeof watches.$inferSelect)['kind'];

export interface NotificationInput {
  kind: NotificationKind;
  actorId: string | null;
  summary: string;
  url: string;
}

/** Notifies these users (never the actor themself). */
export async function notifyUsers(db: Db, userIds: string[], input: NotificationInput): Promise<void> {
  const recipients = [...new Set(userIds)].filter((id) => id !== input.actorId);
  if (recipients.length === 0) return;
  const rows = await db
    .insert(notifications)
    .values(recipients.map((userId) => ({ userId, ...input })))
    .returning({ id: notifications.id, userId: notifications.userId });
  for (const row of rows) await publish(db, { topic: userTopic(row.userId), type: 'notification', id: row.id });
}

/** Notifies everyone watching the target (`${saeId}/${index}` for a feature), except the actor and `except`. */
export async function notifyWatchers(db: Db, watch: { kind: WatchKind; targetId: string }, input: NotificationInput, except: string[] = []): Promise<void> {
  const rows = await db
    .select({ userId: watches.userId })
    .from(watches)
    .where(and(eq(watches.kind, watch.kind), eq(watches.targetId, watch.targetId), input.actorId ? ne(watches.userId, input.actorId) : undefined));
  const skip = new Set(except);
  await notifyUsers(db, rows.map((r) => r.userId).filter((id) => !skip.has(id)), input);
}

export async function watch(db: Db, userId: string, kind: WatchKind, targetId: string): Promise<void> {
  await db.insert(watches).values({ userId, kind, targetId }).onConflictDoNothing();
}

export async function unwatch(db: Db, userId: string, kind: WatchKind, targetId: string): Promise<void> {
  await db.delete(watches).where(and(eq(watches.userId, userId), eq(watches.kind, kind), eq(watches.targetId, targetId)));
}

export async function isWatching(db: Db, userId: string, kind: WatchKind, targetId: string): Promise<boolean> {
  const rows = await db
    .select({ kind: watches.kind })
    .from(watches)
    .where(and(eq(watches.userId, userId), eq(watches.kind, kind), eq(watches.targetId, targetId)));
  return rows.length > 0;
}

/** A user's notifications, newest first; `before` is the createdAt of the last one already shown. */
export async function listNotifications(db: Db, userId: string, opts: { before?: Date; limit: number; unreadOnly: boolean }) {
  return db
    .select({
      id: notifications.id,
      kind: notifications.kind,
      summary: notifications.summary,
      url: notifications.url,
      createdAt: notifications.createdAt,
      readAt: notifications.readAt,
      actor: sql<string | null>`${displayNameSql('"user"')}`,
    })
    .from(notifications)
    .leftJoin(users, eq(users.id, notifications.actorId))
    .where(
      and(
        eq(notifications.userId, userId),
        opts.before ? lt(notifications.createdAt, opts.before) : undefined,
        opts.unreadOnly ? isNull(notifications.readAt) : undefined,
      ),
    )
    .orderBy(desc(notifications.createdAt))
    .limit(opts.limit);
}

export async function unreadCount(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}

/** Marks these notifications of the user read (all unread ones when `ids` is omitted). */
export async function markRead(db: Db, userId: string, ids?: string[]): Promise<void> {
  if (ids?.length === 0) return;
  await db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(eq(notifications.userId, userId), ids ? inArray(notifications.id, ids) : isNull(notifications.readAt)));
}

/** model/sae of an SAE (undefined when it is gone). */
async function saeAddress(db: Db, saeId: string): Promise<string | undefined> {
  const [sae] = await db
    .select({ model: models.slug, sae: saes.slug })
    .from(saes)
    .innerJoin(models, eq(models.id, saes.modelId))
    .where(eq(saes.id, saeId));
  return sae && `${sae.model}/${sae.sae}`;
}

type AddressedInput = { kind: NotificationKind; actorId: string | null; summary: (address: string) => string };

/**
 * Notifies the watchers of some features of one SAE (each feature's own watchers), with a summary naming the feature
 * by its address (model/sae/index) and a link to its page.
 */
export async function notifyFeatureWatchers(db: Db, saeId: string, indices: number[], input: AddressedInput): Promise<void> {
  const sae = await saeAddress(db, saeId);
  if (!sae) return;
  for (const index of new Set(indices)) {
    const address = `${sae}/${index}`;
    await notifyWatchers(db, { kind: 'feature', targetId: `${saeId}/${index}` }, { kind: input.kind, actorId: input.actorId, summary: input.summary(address), url: `/${address}` });
  }
}

/** Notifies the watchers of an SAE, with a summary naming it (model/sae) and a link to its page. */
export async function notifySaeWatchers(db: Db, saeId: string, input: AddressedInput): Promise<void> {
  const address = await saeAddress(db, saeId);
  if (!address) return;
  await notifyWatchers(db, { kind: 'sae', targetId: saeId }, { kind: input.kind, actorId: input.actorId, summary: input.summary(address), url: `/${address}` });
}
