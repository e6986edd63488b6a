/**
 * Live updates over SSE (tRPC subscriptions; the client uses httpSubscriptionLink). A subscription is authorised once,
 * when it starts, and then relays the ids-only events of its topic (server/events.ts); the page re-reads what changed
 * through the ordinary, authorised queries. Each event is `tracked`, so a client that reconnects sends the last id it
 * saw, and is told to re-read (`resync`): events published while it was away are not kept.
 */
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { eventHub, featureTopic, hypothesisTopic, userTopic, type DeliveredEvent } from '../../events';
import { hypothesisFeaturesFor } from '../../hypotheses';
import { featureAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const slug = z.string().min(1).max(200);
const lastEventId = z.string().max(100).nullish();

export type LiveEvent = Omit<DeliveredEvent, 'topic'>;

let sequence = 0;
const nextId = () => `${eventHub().processId.slice(0, 8)}-${++sequence}`;

/**
 * The events of `topic` until the client goes away; with `presence`, counted as viewing it while subscribed (as
 * `viewer`, or anonymously without one).
 */
async function* relay(topic: string, opts: { signal?: AbortSignal; lastEventId?: string | null; presence?: boolean; viewer?: string }) {
  const hub = eventHub();
  const events = hub.events(topic, opts.signal); // listen before anything else, so nothing falls in between
  const leave = opts.presence ? hub.join(topic, opts.viewer) : undefined;
  try {
    if (opts.lastEventId) yield tracked(nextId(), { type: 'resync' } as LiveEvent);
    if (leave) yield tracked(nextId(), { type: 'presence', count: hub.viewing(topic) } as LiveEvent);
    for await (const { topic: _topic, ...event } of events) yield tracked(nextId(), event as LiveEvent);
  } finally {
    leave?.();
  }
}

export const liveRouter = createTRPCRouter({
  /** A feature page: comments, label changes, recompute jobs, hypotheses and evidence, and how many are viewing. */
  feature: publicProcedure
    .input(z.object({ model: slug, sae: slug, index: z.number().int().min(0).max(2 ** 31 - 1), lastEventId }))
    .subscription(async function* ({ ctx, input, signal }) {
      const sae = await featureAt(ctx.db, ctx.viewer, 'read', input);
      // one person in several tabs counts once; anonymous visitors count per connection
      yield* relay(featureTopic(sae.saeId, input.index), { signal, lastEventId: input.lastEventId, presence: true, viewer: ctx.viewer?.id });
    }),

  /** A hypothesis page: status changes, evidence, comments. */
  hypothesis: publicProcedure.input(z.object({ id: z.uuid(), lastEventId })).subscription(async function* ({ ctx, input, signal }) {
    // read on every SAE the hypothesis touches, as its page needs
    await hypothesisFeaturesFor(ctx.db, ctx.viewer, input.id, 'read');
    yield* relay(hypothesisTopic(input.id), { signal, lastEventId: input.lastEventId });
  }),

  /** The signed-in user's new notifications (the unread count in the header follows them). */
  notifications: protectedProcedure.input(z.object({ lastEventId }).optional()).subscription(async function* ({ ctx, input, signal }) {
    yield* relay(userTopic(ctx.session.user.id), { signal, lastEventId: input?.lastEventId });
  }),
});
