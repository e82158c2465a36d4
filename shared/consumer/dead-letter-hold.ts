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
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { DEAD_LETTER_ATTRIBUTES, PUBSUB_DEAD_LETTER_PREFIX } from './dead-letter';
import { chunks, publishTimeOf, SubscriberRpc, type ReceivedMessage } from './subscriber-rpc';

/** gRPC DEADLINE_EXCEEDED: a Pull held open that nothing arrived for. */
const DEADLINE_EXCEEDED = 4;

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

/** A copy in the hold, as a Pull returned it (a client library `Message` has the same fields). */
export interface HoldCopy {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
}

export interface HoldOptions {
  /** At most this many messages. Default 100. */
  max?: number;
  /** Stop when no message came for this long. Default 3000 ms. */
  idleMs?: number;
}

export function heldMessageOf(m: HoldCopy): HeldMessage {
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

function holdCopyOf(received: ReceivedMessage): HoldCopy {
  const m = received.message!;
  return {
    id: m.messageId!,
    data: Buffer.from(m.data ?? new Uint8Array()),
    attributes: m.attributes ?? {},
    publishTime: publishTimeOf(m) ?? new Date(0),
  };
}

/** Messages asked for per Pull (Pub/Sub returns at most 1000). */
const PULL_BATCH = 1000;

/**
 * Takes up to `max` messages from the hold and gives each to `handle`: acked when `handle` resolves
 * true (right after its Pull's batch, well within the hold's 60 s ack deadline); otherwise kept
 * leased and released back to the hold at the end (deadline 0).
 *
 * Unary Pull, not StreamingPull: a listing is a bounded read, and on the emulator StreamingPull
 * streams the whole hold past flow control on each of its streams, and every stream a listing
 * closes is one the emulator mishandles (a NoSuchMethodError per cancelled stream in its log; its
 * heap reached 10.8 GB when the fault suite's parity listed every hold every 5 s for 13 minutes).
 */
async function drainHold(pubsub: PubSub, consumer: ConsumerSpec, options: HoldOptions, handle: (m: HoldCopy) => Promise<boolean>): Promise<void> {
  const max = options.max ?? 100;
  const idleMs = options.idleMs ?? 3000;
  const rpc = await SubscriberRpc.open(pubsub, consumerResources(consumer).deadLetterHold);
  const seen = new Set<string>();
  const release: string[] = [];
  let failure: Error | undefined;
  let lastMessageAt = Date.now();
  try {
    while (!failure && seen.size < max && Date.now() - lastMessageAt < idleMs) {
      let received: ReceivedMessage[];
      try {
        received = await rpc.pull(Math.min(PULL_BATCH, max - seen.size));
      } catch (error) {
        if ((error as { code?: number }).code === DEADLINE_EXCEEDED) continue; // held open, nothing came
        throw error;
      }
      if (!received.length) {
        await sleep(Math.min(200, idleMs)); // Pub/Sub may answer empty at once: do not spin
        continue;
      }
      lastMessageAt = Date.now();
      const acks: string[] = [];
      await Promise.all(
        received.map(async (r) => {
          const copy = holdCopyOf(r);
          // A copy seen already (its lease ran out and it came again) or past max: not ours to take.
          if (failure || seen.has(copy.id) || seen.size >= max) return void release.push(r.ackId!);
          seen.add(copy.id);
          try {
            if (await handle(copy)) acks.push(r.ackId!);
            else release.push(r.ackId!);
          } catch (error) {
            failure ??= error as Error;
            release.push(r.ackId!);
          }
        }),
      );
      for (const ids of chunks(acks)) await rpc.acknowledge(ids);
    }
  } finally {
    for (const ids of chunks(release)) await rpc.modifyAckDeadline(ids, 0).catch(() => undefined); // else back after its deadline
    await rpc.close();
  }
  if (failure) throw failure;
}

/**
 * Which delivered message a held copy is: the runtime writes the original message id (`messageId`)
 * on every copy it dead-letters. A consumer that crashed after dead-lettering a message and before
 * acking it gets the message again and dead-letters it again (publishing is at-least-once too): both
 * copies are the same message. Copies Pub/Sub forwarded itself carry no id of their own source; each
 * is its own message.
 */
export function heldKey(m: Pick<HoldCopy, 'id' | 'attributes'>): string {
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
