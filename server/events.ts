/**
 * Live events: a write publishes a small event on a topic with PostgreSQL NOTIFY, so every web process (and the
 * worker, for job completions) reaches every subscriber, and an event published inside a transaction is delivered
 * only if it commits. Subscribers (tRPC subscriptions over SSE) read the details through the normal, authorised
 * queries: an event carries ids, never content.
 *
 * Topics: `feature:${saeId}/${index}`, `sae:${saeId}`, `hypothesis:${id}`, `user:${userId}` (notifications).
 */
import type { Db } from './db';
import { sql } from 'drizzle-orm';

export const EVENT_CHANNEL = 'lexicon_event';

export type EventType = 'comment' | 'label' | 'job' | 'hypothesis' | 'evidence' | 'notification' | 'presence';

export interface LexiconEvent {
  topic: string;
  type: EventType;
  /** the id of what changed (comment, job, hypothesis, notification) */
  id?: string;
}

export const featureTopic = (saeId: string, index: number) => `feature:${saeId}/${index}`;
export const saeTopic = (saeId: string) => `sae:${saeId}`;
export const hypothesisTopic = (id: string) => `hypothesis:${id}`;
export const userTopic = (userId: string) => `user:${userId}`;

/** Publishes on commit when `db` is a transaction, at once otherwise. */
export async function publish(db: Db, event: LexiconEvent): Promise<void> {
  await db.execute(sql`select pg_notify(${EVENT_CHANNEL}, ${JSON.stringify(event)})`);
}
