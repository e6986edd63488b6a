/**
 * Live updates over SSE (tRPC subscriptions; the client uses httpSubscriptionLink). A subscription is authorised when
 * it starts, and then relays the ids-only events of its topic (server/events.ts); the page re-reads what changed
 * through the ordinary, authorised queries. Access is checked again, for the reader as they are now (role, account,
 * teams, visibility), before each event is relayed (presence counts aside) and whenever access changes anywhere (the
 * `access` event): once the reader may no longer see the topic, the stream says `access` and ends. Each event is
 * `tracked`, so a client that reconnects sends the last id it saw, and is told to re-read (`resync`): events
 * published while it was away are not kept.
 */
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { featureAddressInput } from '../../address-inputs';
import { currentViewer, type Viewer } from '../../authz';
import type { Db } from '../../db';
import { DomainError } from '../../errors';
import { eventHub, featureTopic, hypothesisTopic, userTopic, type DeliveredEvent } from '../../events';
import { hypothesisFeaturesFor } from '../../hypotheses';
import { featureAt } from '../../visibility';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const lastEventId = z.string().max(100).nullish();

export type LiveEvent = Omit<DeliveredEvent, 'topic'>;

let sequence = 0;
const nextId = () => `${eventHub().processId.slice(0, 8)}-${++sequence}`;

/**
 * Whether the reader still may do what `authorise` checks (it throws a DomainError when they may not), decided for them
 * as they are now: a signed-in reader whose account was disabled or removed may not.
 */
async function stillAllowed(db: Db, viewer: Viewer, authorise: (now: Viewer) => Promise<unknown>): Promise<boolean> {
  const now = await currentViewer(db, viewer);
  if (viewer && !now) return false;
  try {
    await authorise(now);
    return true;
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
}

/**
 * Access decisions shared for a moment by the streams of one topic and reader (every anonymous visitor is the same
 * reader): an event on a page 300 people have open costs one check, not 300. A decision is reused only until the next
 * `access` event (its key holds the count of them) and for at most DECISION_MS, which bounds how late a change made
 * without an audit entry (straight in the database) is noticed.
 */
const DECISION_MS = 500;
const decisions = new Map<string, Promise<boolean>>();

function sharedDecision(key: string, decide: () => Promise<boolean>): Promise<boolean> {
  const full = `${eventHub().accessChanges}|${key}`;
  let decision = decisions.get(full);
  if (!decision) {
    decision = decide();
    decisions.set(full, decision);
    const forget = () => void setTimeout(() => decisions.delete(full), DECISION_MS).unref();
    decision.then(forget, () => decisions.delete(full)); // a failed check is not reused
  }
  return decision;
}

/**
 * The events of `topic` until the client goes away or `allowed` says no (checked before relaying anything but
 * presence, and on `access` events, which are not relayed); with `presence`, counted as viewing it while subscribed
 * (as `viewer`, or anonymously without one).
 */
async function* relay(
  topic: string,
  opts: { signal?: AbortSignal; lastEventId?: string | null; presence?: boolean; viewer?: string; allowed: () => Promise<boolean> },
) {
  const hub = eventHub();
  const events = hub.events(topic, opts.signal); // listen before anything else, so nothing falls in between
  const leave = opts.presence ? hub.join(topic, opts.viewer) : undefined;
  try {
    if (opts.lastEventId) yield tracked(nextId(), { type: 'resync' } as LiveEvent);
    if (leave) yield tracked(nextId(), { type: 'presence', count: hub.viewing(topic) } as LiveEvent);
    for await (const { topic: _topic, ...event } of events) {
      if (event.type !== 'presence' && !(await opts.allowed())) {
        yield tracked(nextId(), { type: 'access' } as LiveEvent); // the page re-reads, and is told what it may see now
        return;
      }
      if (event.type !== 'access') yield tracked(nextId(), event as LiveEvent);
    }
  } finally {
    leave?.();
  }
}

export const liveRouter = createTRPCRouter({
  /** A feature page: comments, label changes, recompute jobs, hypotheses and evidence, and how many are viewing. */
  feature: publicProcedure
    .input(featureAddressInput.extend({ lastEventId }))
    .subscription(async function* ({ ctx, input, signal }) {
      const sae = await featureAt(ctx.db, ctx.viewer, 'read', input);
      // one person in several tabs counts once; anonymous visitors count per connection
      const topic = featureTopic(sae.saeId, input.index);
      const allowed = () => sharedDecision(`${topic}|${ctx.viewer?.id ?? ''}`, () => stillAllowed(ctx.db, ctx.viewer, (now) => featureAt(ctx.db, now, 'read', input)));
      yield* relay(topic, { signal, lastEventId: input.lastEventId, presence: true, viewer: ctx.viewer?.id, allowed });
    }),

  /** A hypothesis page: status changes, evidence, comments. */
  hypothesis: publicProcedure.input(z.object({ id: z.uuid(), lastEventId })).subscription(async function* ({ ctx, input, signal }) {
    // read on every SAE the hypothesis touches, as its page needs
    await hypothesisFeaturesFor(ctx.db, ctx.viewer, input.id, 'read');
    const topic = hypothesisTopic(input.id);
    const allowed = () => sharedDecision(`${topic}|${ctx.viewer?.id ?? ''}`, () => stillAllowed(ctx.db, ctx.viewer, (now) => hypothesisFeaturesFor(ctx.db, now, input.id, 'read')));
    yield* relay(topic, { signal, lastEventId: input.lastEventId, allowed });
  }),

  /** The signed-in user's new notifications (the unread count in the header follows them). */
  notifications: protectedProcedure.input(z.object({ lastEventId }).optional()).subscription(async function* ({ ctx, input, signal }) {
    // the account's own topic: it ends when the account is disabled (or removed)
    const allowed = () => stillAllowed(ctx.db, ctx.viewer, async () => undefined);
    yield* relay(userTopic(ctx.session.user.id), { signal, lastEventId: input?.lastEventId, allowed });
  }),
});
