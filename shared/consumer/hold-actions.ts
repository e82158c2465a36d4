/**
 * What an operator does to a consumer's dead-letter hold (dead-letter-hold.ts reads it): redrive the
 * selected messages to that consumer only, or purge them. Both take each message once, every copy
 * of it (HeldCopies), only what was held when they began, and ack a message in the hold only after
 * its work is done: a redrive that stops half way loses nothing.
 *
 * A purge drops messages from the hold for good. It is safe only because every dead letter is also
 * copied into BigQuery's dead_letters from its own subscription (services/warehouse/
 * dead-letter-archive.ts), so the audit of a purge (shared/operations/purge.ts) names rows that stay.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { PUBSUB_DEAD_LETTER_PREFIX } from './dead-letter';
import { drainHold, HeldCopies, heldMessageOf, redriveAttributes, type HeldMessage, type HoldCopy, type HoldOptions } from './dead-letter-hold';

/**
 * Which held messages an action takes: all by default. An operator redrives what failed for a
 * reason that has gone (`max-delivery-attempts`: the service was down) and leaves poison held, or
 * what was dead-lettered during an outage (`since` / `until`).
 */
export interface HeldSelection {
  /** Only messages held for one of these reasons (HeldMessage.reason). */
  reasons?: readonly string[];
  /** Only these events (ce-id). */
  eventIds?: readonly string[];
  /** Only messages dead-lettered at or after this time. */
  since?: Date;
  /** Only messages dead-lettered before this time. */
  until?: Date;
  /** Only messages dead-lettered from one of these subscriptions (ids; a canary's own, when it ends). */
  sourceSubscriptions?: readonly string[];
}

/** The subscription id a dead letter came from: the runtime's attribute, else Pub/Sub's. */
export function deadLetterSourceOf(attributes: Readonly<Record<string, string>>): string | undefined {
  const path = attributes.sourceSubscription ?? attributes[`${PUBSUB_DEAD_LETTER_PREFIX}Subscription`];
  return path?.slice(path.lastIndexOf('/') + 1);
}

/** Whether a held message is in the selection: every criterion given holds. */
export function selector(
  selection: HeldSelection = {},
): (m: Pick<HeldMessage, 'reason' | 'eventId' | 'deadLetteredAt'> & Partial<Pick<HeldMessage, 'attributes'>>) => boolean {
  const reasons = selection.reasons && new Set(selection.reasons);
  const sources = selection.sourceSubscriptions && new Set(selection.sourceSubscriptions);
  const eventIds = selection.eventIds && new Set(selection.eventIds);
  const since = selection.since?.getTime() ?? -Infinity;
  const until = selection.until?.getTime() ?? Infinity;
  return (m) => {
    const at = Date.parse(m.deadLetteredAt);
    const source = sources && deadLetterSourceOf(m.attributes ?? {});
    return (
      (!reasons || reasons.has(m.reason)) &&
      (!eventIds || (m.eventId !== undefined && eventIds.has(m.eventId))) &&
      (!sources || (source !== undefined && sources.has(source))) &&
      !(at < since) &&
      !(at >= until)
    );
  };
}

/** A selection as the audit records it (times as text). */
export const selectionRecord = (selection: HeldSelection = {}) => ({
  ...selection,
  since: selection.since?.toISOString(),
  until: selection.until?.toISOString(),
});

export interface HoldActionOptions extends HoldOptions {
  /** What to take; the rest stays in the hold. Default: everything. */
  select?: HeldSelection;
  /** Called after each message taken (redriven or purged), with how many so far: a progress bar. */
  onTaken?: (count: number, message: HeldMessage) => void;
}

export interface RedriveOptions extends HoldActionOptions {
  /**
   * Resolves when the next message may be republished: a rate limit (shared/replay/pacer.ts), so a
   * redrive of thousands does not land on the consumer as a burst. Default: no limit.
   */
  pace?: () => Promise<void>;
}

/**
 * Visits what the hold held when called, each message once: `take` runs for the first copy of each
 * selected message, and it and its extra copies are acked once `take` resolves. A message dead-
 * lettered again during the action (a redriven one that fails again) is a new message, left alone,
 * or a poison message would go round and round.
 */
async function takeHeld(
  pubsub: PubSub,
  consumer: ConsumerSpec,
  options: HoldActionOptions,
  take: (copy: HoldCopy, held: HeldMessage) => Promise<void>,
): Promise<HeldMessage[]> {
  const taken: HeldMessage[] = [];
  const startedAt = Date.now();
  const selected = selector(options.select);
  const events = new Set<string>();
  const copies = new HeldCopies();
  const takenIds = new Set<string>();
  await drainHold(pubsub, consumer, options, {
    handle: async (m) => {
      if (m.publishTime.getTime() >= startedAt) return false;
      // An extra copy of a message already taken (HeldCopies): handled once, the copy acked away.
      const kind = copies.take(m);
      if (kind === 'extra' || (typeof kind === 'object' && takenIds.has(kind.replaces))) return true;
      const held = heldMessageOf(m);
      if (!selected(held)) return false;
      const eventId = m.attributes?.['ce-id'];
      if (eventId && events.has(eventId)) return false;
      if (eventId) events.add(eventId);
      takenIds.add(m.id); // before the work: a copy of the same Pull may replace it meanwhile
      await take(m, held);
      taken.push(held);
      options.onTaken?.(taken.length, held);
      return true;
    },
    extrasFoundLater: () => copies.extrasFoundLater,
  });
  return taken;
}

/** Republishes the selected held messages to the consumer's redrive topic; returns those redriven. */
export async function redriveHeld(pubsub: PubSub, consumer: ConsumerSpec, options: RedriveOptions = {}): Promise<HeldMessage[]> {
  const topic = pubsub.topic(consumerResources(consumer).redriveTopic, { messageOrdering: true });
  try {
    return await takeHeld(pubsub, consumer, options, async (m) => {
      await options.pace?.();
      const { attributes, orderingKey } = redriveAttributes(m.attributes ?? {});
      await topic.publishMessage({ data: m.data, attributes, ...(orderingKey ? { orderingKey } : {}) });
    });
  } finally {
    await topic.flush().catch(() => undefined);
  }
}

/** Acks the selected held messages away (their copies in dead_letters stay); returns those purged. */
export function purgeHeld(pubsub: PubSub, consumer: ConsumerSpec, options: HoldActionOptions = {}): Promise<HeldMessage[]> {
  return takeHeld(pubsub, consumer, options, async () => undefined);
}
