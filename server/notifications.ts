/**
 * Notifications: rows a user reads on /notifications (with an unread count in the header), written in the same
 * transaction as what caused them, each followed by a live event on the user's topic.
 *
 * Access is checked when it is read, not only when it was written: a watcher is notified only while they may read
 * what they watch (as they are now: their role, their teams, the SAE's visibility), and a notification is listed with
 * its summary and link only while its reader may see the page it links to (a feature, an SAE or a hypothesis);
 * otherwise it is listed as one about something they can no longer see, without its text.
 */
import { and, desc, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { hypothesisFeatures, models, notifications, saes, users, watches } from '@/drizzle/schema';
import { featureHref, formatFeatureAddress, formatSaeAddress, saeHref, type SaeAddress } from './addresses';
import { levelOn, levelOnAll, type Viewer } from './authz';
import { isUuid, type Db } from './db';
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

/** Whether `viewer` (as they are now) may read a watched feature, SAE or hypothesis. */
export async function mayReadWatched(db: Db, viewer: Viewer, watch: { kind: WatchKind; targetId: string }): Promise<boolean> {
  if (watch.kind === 'hypothesis') return (await levelOnAll(db, viewer, await hypothesisSaeIds(db, watch.targetId))) !== 'none';
  const saeId = watch.kind === 'feature' ? watch.targetId.split('/')[0]! : watch.targetId;
  return (await levelOn(db, viewer, { sae: saeId })) !== 'none';
}

async function hypothesisSaeIds(db: Db, id: string): Promise<string[]> {
  if (!isUuid(id)) return [];
  const rows = await db.select({ saeId: hypothesisFeatures.saeId }).from(hypothesisFeatures).where(eq(hypothesisFeatures.hypothesisId, id));
  return rows.map((r) => r.saeId);
}

/**
 * Notifies everyone watching the target (`${saeId}/${index}` for a feature), except the actor and `except`, and
 * except watchers who may no longer read it (they left its team, it became private, their account was disabled).
 */
export async function notifyWatchers(db: Db, watch: { kind: WatchKind; targetId: string }, input: NotificationInput, except: string[] = []): Promise<void> {
  const rows = await db
    .select({ id: watches.userId, role: users.role, disabled: users.disabled })
    .from(watches)
    .innerJoin(users, eq(users.id, watches.userId))
    .where(and(eq(watches.kind, watch.kind), eq(watches.targetId, watch.targetId), input.actorId ? ne(watches.userId, input.actorId) : undefined));
  const skip = new Set(except);
  const recipients: string[] = [];
  for (const user of rows) {
    if (skip.has(user.id) || user.disabled) continue;
    if (await mayReadWatched(db, { id: user.id, role: user.role }, watch)) recipients.push(user.id);
  }
  await notifyUsers(db, recipients, input);
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

/** What a notification's link leads to, as access sees it (undefined: a link of no known shape). */
type LinkTarget = { hypothesis: string } | { model: string; sae: string };

/** Notification links are `/hypotheses/{id}`, `/{model}/{sae}` or `/{model}/{sae}/{index}`, perhaps with `#…`. */
function linkTarget(url: string): LinkTarget | undefined {
  const path = url.split(/[?#]/)[0]!;
  const hypothesis = /^\/hypotheses\/([0-9a-f-]{36})$/i.exec(path);
  if (hypothesis && isUuid(hypothesis[1]!)) return { hypothesis: hypothesis[1]! };
  const sae = /^\/([^/]+)\/([^/]+)(?:\/\d+)?$/.exec(path);
  return sae ? { model: sae[1]!, sae: sae[2]! } : undefined;
}

/** Whether `viewer` may see the page a link leads to now; a link to nothing that exists (or of no known shape): no. */
async function mayFollow(db: Db, viewer: Viewer, target: LinkTarget | undefined): Promise<boolean> {
  if (!target) return false;
  if ('hypothesis' in target) return (await levelOnAll(db, viewer, await hypothesisSaeIds(db, target.hypothesis))) !== 'none';
  const [sae] = await db
    .select({ id: saes.id })
    .from(saes)
    .innerJoin(models, eq(models.id, saes.modelId))
    .where(and(eq(models.slug, target.model), eq(saes.slug, target.sae)));
  return !!sae && (await levelOn(db, viewer, { sae: sae.id })) !== 'none';
}

/** What a notification says to a reader who may no longer see what it is about. */
export const HIDDEN_SUMMARY = 'Something you can no longer see changed';

/**
 * A user's notifications, newest first; `before` is the createdAt of the last one already shown. Each is checked
 * against `viewer` (the user, as they are now): one about something they may no longer see keeps its kind and time,
 * but not its summary, link or actor (`hidden`).
 */
export async function listNotifications(db: Db, viewer: NonNullable<Viewer>, opts: { before?: Date; limit: number; unreadOnly: boolean }) {
  const rows = await db
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
        eq(notifications.userId, viewer.id),
        opts.before ? lt(notifications.createdAt, opts.before) : undefined,
        opts.unreadOnly ? isNull(notifications.readAt) : undefined,
      ),
    )
    .orderBy(desc(notifications.createdAt))
    .limit(opts.limit);
  const visible = new Map<string, Promise<boolean>>();
  const follow = (url: string) => {
    const target = linkTarget(url);
    const key = JSON.stringify(target ?? null);
    if (!visible.has(key)) visible.set(key, mayFollow(db, viewer, target));
    return visible.get(key)!;
  };
  const out = [];
  for (const row of rows) {
    out.push((await follow(row.url)) ? { ...row, hidden: false } : { ...row, summary: HIDDEN_SUMMARY, url: '/notifications', actor: null, hidden: true });
  }
  return out;
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
async function saeAddress(db: Db, saeId: string): Promise<SaeAddress | undefined> {
  const [sae] = await db
    .select({ model: models.slug, sae: saes.slug })
    .from(saes)
    .innerJoin(models, eq(models.id, saes.modelId))
    .where(eq(saes.id, saeId));
  return sae;
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
    const feature = { ...sae, index };
    await notifyWatchers(db, { kind: 'feature', targetId: `${saeId}/${index}` }, { kind: input.kind, actorId: input.actorId, summary: input.summary(formatFeatureAddress(feature)), url: featureHref(feature) });
  }
}

/** Notifies the watchers of an SAE, with a summary naming it (model/sae) and a link to its page. */
export async function notifySaeWatchers(db: Db, saeId: string, input: AddressedInput): Promise<void> {
  const sae = await saeAddress(db, saeId);
  if (!sae) return;
  await notifyWatchers(db, { kind: 'sae', targetId: saeId }, { kind: input.kind, actorId: input.actorId, summary: input.summary(formatSaeAddress(sae)), url: saeHref(sae) });
}
