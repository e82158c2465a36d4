/**
 * The operator's side of dead letters: what waits in a consumer's dead-letter hold
 * (`<consumer>-dlq-hold`), and redriving it. A redrive republishes each held message to the
 * consumer's private redrive topic (`<consumer>-redrive`, whose subscription feeds the same
 * endpoint with the same dead-letter policy), so only that consumer sees it again, and acks it in
 * the hold only after the republish succeeded: nothing is lost if the redrive stops half way.
 *
 * The redriven copy has the original data and attributes (its ce-* attributes, so the consumers'
 * dedup by event id still holds) without the ones dead-lettering added (reason, error, ... and
 * Pub/Sub's CloudPubSubDeadLetterSource*), and its original ordering key.
 */
import type { Message, PubSub } from '@google-cloud/pubsub';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { DEAD_LETTER_ATTRIBUTES, PUBSUB_DEAD_LETTER_PREFIX } from './dead-letter';

const ADDED_BY_DEAD_LETTERING: readonly string[] = DEAD_LETTER_ATTRIBUTES;

export interface HeldMessage {
  /** Message id in the hold. */
  messageId: string;
  eventId?: string;
  type?: string;
  /** The event's ce-time, when it had one. */
  time?: string;
  /** Why: the runtime's reason code, or `max-delivery-attempts` when Pub/Sub gave up on it. */
  reason: string;
  error?: string;
  /** When it was dead-lettered (published to the dead-letter topic). */
  deadLetteredAt: string;
  /** Every attribute of the held copy: the original ones and those dead-lettering added. */
  attributes: Record<string, string>;
}

export interface HoldOptions {
  /** At most this many messages. Default 100. */
  max?: number;
  /** Stop when no message came for this long. Default 3000 ms. */
  idleMs?: number;
}

export function heldMessageOf(m: Message): HeldMessage {
  const a = m.attributes ?? {};
  return {
    messageId: m.id,
    eventId: a['ce-id'],
    type: a['ce-type'],
    time: a['ce-time'],
    reason: a.reason ?? (a[`${PUBSUB_DEAD_LETTER_PREFIX}DeliveryCount`] ? 'max-delivery-attempts' : 'unknown'),
    error: a.error,
    deadLetteredAt: m.publishTime.toISOString(),
    attributes: { ...a },
  };
}

/** The original attributes and ordering key of a dead-lettered message. */
export function redriveAttributes(attributes: Record<string, string>): { attributes: Record<string, string>; orderingKey?: string } {
  const original: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (ADDED_BY_DEAD_LETTERING.includes(key) || key.startsWith(PUBSUB_DEAD_LETTER_PREFIX)) continue;
    original[key] = value;
  }
  return { attributes: original, orderingKey: attributes.orderingKey || undefined };
}

/**
 * Takes up to `max` messages from the hold and gives each to `handle`: acked when `handle` resolves
 * true; otherwise kept leased until the end (so it is not delivered to us again) and then released
 * back to the hold.
 */
async function drainHold(pubsub: PubSub, consumer: ConsumerSpec, options: HoldOptions, handle: (m: Message) => Promise<boolean>): Promise<void> {
  const max = options.max ?? 100;
  const idleMs = options.idleMs ?? 3000;
  const subscription = pubsub.subscription(consumerResources(consumer).deadLetterHold, { flowControl: { maxMessages: max, allowExcessMessages: false } });
  const seen = new Set<string>();
  const release: Message[] = [];
  const work: Promise<void>[] = [];
  let failure: Error | undefined;
  let stopped = false;
  await new Promise<void>((done) => {
    const resolve = () => {
      stopped = true;
      done();
    };
    let idle = setTimeout(resolve, idleMs);
    subscription.on('error', (error: Error) => {
      failure ??= error;
      resolve();
    });
    subscription.on('message', (m: Message) => {
      if (stopped || seen.size >= max || seen.has(m.id)) return release.push(m);
      seen.add(m.id);
      clearTimeout(idle);
      idle = setTimeout(resolve, seen.size >= max ? 0 : idleMs);
      work.push(
        handle(m).then(
          (ack) => (ack ? m.ack() : void release.push(m)),
          (error: Error) => {
            failure ??= error;
            release.push(m);
            resolve();
          },
        ),
      );
    });
  });
  await Promise.allSettled(work);
  for (const m of release) m.nack();
  await subscription.close();
  if (failure) throw failure;
}

/**
 * Which delivered message a held copy is: the runtime writes the original message id (`messageId`)
 * on every copy it dead-letters. A consumer that crashed after dead-lettering a message and before
 * acking it gets the message again and dead-letters it again (publishing is at-least-once too): both
 * copies are the same message. Copies Pub/Sub forwarded itself carry no id of their own source; each
 * is its own message.
 */
export function heldKey(m: Pick<Message, 'id' | 'attributes'>): string {
  const a = m.attributes ?? {};
  return a.messageId ? `${a.sourceSubscription ?? ''}/${a.messageId}` : m.id;
}

/**
 * Lists what waits in the hold, leaving it there: one entry per message. Extra copies of a message
 * (heldKey) are removed, so the hold keeps each message once.
 */
export async function listHeld(pubsub: PubSub, consumer: ConsumerSpec, options: HoldOptions = {}): Promise<HeldMessage[]> {
  const held: HeldMessage[] = [];
  const keys = new Set<string>();
  await drainHold(pubsub, consumer, options, async (m) => {
    const key = heldKey(m);
    if (keys.has(key)) return true; // an extra copy: ack it away
    keys.add(key);
    held.push(heldMessageOf(m));
    return false;
  });
  return held.sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt));
}

/** Republishes what the hold held when called to the consumer's redrive topic; returns those redriven. */
export async function redriveHeld(pubsub: PubSub, consumer: ConsumerSpec, options: HoldOptions = {}): Promise<HeldMessage[]> {
  const topic = pubsub.topic(consumerResources(consumer).redriveTopic, { messageOrdering: true });
  const redriven: HeldMessage[] = [];
  // A redriven message that fails again comes back to the hold as a new message: take only what was
  // held before this redrive began, and each event once, or a poison message would go round and round.
  const startedAt = Date.now();
  const events = new Set<string>();
  const keys = new Set<string>();
  try {
    await drainHold(pubsub, consumer, options, async (m) => {
      if (m.publishTime.getTime() >= startedAt) return false;
      // An extra copy of a message already redriven (heldKey): sent once, the copy acked away.
      if (keys.has(heldKey(m))) return true;
      const eventId = m.attributes?.['ce-id'];
      if (eventId && events.has(eventId)) return false;
      keys.add(heldKey(m));
      if (eventId) events.add(eventId);
      const { attributes, orderingKey } = redriveAttributes(m.attributes ?? {});
      await topic.publishMessage({ data: m.data, attributes, ...(orderingKey ? { orderingKey } : {}) });
      redriven.push(heldMessageOf(m));
      return true;
    });
  } finally {
    await topic.flush().catch(() => undefined);
  }
  return redriven;
}
