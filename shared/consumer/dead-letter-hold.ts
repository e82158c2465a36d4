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
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { DEAD_LETTER_ATTRIBUTES, deadLetterReasonOf, PUBSUB_DEAD_LETTER_PREFIX } from './dead-letter';
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
  /**
   * At most this many messages per Pull. Default 1000 (Pub/Sub's most). A paced redrive asks for
   * fewer, so a Pull's batch is handled well within the hold's 60 s ack deadline.
   */
  batch?: number;
  /** Called once a listing ends, with what it took (for logs: a listing that ends early is invisible otherwise). */
  onListed?: (stats: HoldListingStats) => void;
}

export interface HoldListingStats {
  hold: string;
  /** Distinct copies read. */
  copies: number;
  pulls: number;
  emptyPulls: number;
  /** Copies that came again within the listing (their lease ran out). */
  cameAgain: number;
  acked: number;
  released: number;
  elapsedMs: number;
}

export function heldMessageOf(m: HoldCopy): HeldMessage {
  const a = m.attributes ?? {};
  return {
    messageId: m.id,
    eventId: a['ce-id'],
    type: a['ce-type'],
    time: a['ce-time'],
    reason: deadLetterReasonOf(a),
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

/** What a listing decides for a copy once all of its Pull is read: see drainHold. */
export interface HoldVisitor {
  /** True: ack the copy now (an extra, or redriven). False: leave it in the hold. */
  handle(m: HoldCopy): Promise<boolean>;
  /** Hold message ids left in the hold by `handle` that turned out extra later: acked at the end. */
  extrasFoundLater?(): ReadonlySet<string>;
}

/**
 * Takes up to `max` messages from the hold and gives each to `visitor.handle`: acked when it
 * resolves true (right after its Pull's batch, well within the hold's 60 s ack deadline); otherwise
 * kept leased and, at the end, acked if `extrasFoundLater` names it, else released back to the hold
 * (deadline 0).
 *
 * Unary Pull, not StreamingPull: a listing is a bounded read, and on the emulator StreamingPull
 * streams the whole hold past flow control on each of its streams, and every stream a listing
 * closes is one the emulator mishandles (a NoSuchMethodError per cancelled stream in its log; its
 * heap reached 10.8 GB when the fault suite's parity listed every hold every 5 s for 13 minutes).
 */
export async function drainHold(pubsub: PubSub, consumer: ConsumerSpec, options: HoldOptions, visitor: HoldVisitor): Promise<void> {
  const max = options.max ?? 100;
  const idleMs = options.idleMs ?? 3000;
  const hold = consumerResources(consumer).deadLetterHold;
  const rpc = await SubscriberRpc.open(pubsub, hold);
  const stats: HoldListingStats = { hold, copies: 0, pulls: 0, emptyPulls: 0, cameAgain: 0, acked: 0, released: 0, elapsedMs: 0 };
  const startedAt = Date.now();
  const seen = new Set<string>();
  // The newest lease of each copy left in the hold (a copy whose lease ran out comes again).
  const leased = new Map<string, string>();
  const release: string[] = [];
  let failure: Error | undefined;
  let lastMessageAt = Date.now();
  try {
    while (!failure && seen.size < max && Date.now() - lastMessageAt < idleMs) {
      let received: ReceivedMessage[];
      try {
        stats.pulls++;
        received = await rpc.pull(Math.min(options.batch ?? PULL_BATCH, PULL_BATCH, max - seen.size));
      } catch (error) {
        if ((error as { code?: number }).code === DEADLINE_EXCEEDED) continue; // held open, nothing came
        throw error;
      }
      if (!received.length) {
        stats.emptyPulls++;
        await sleep(Math.min(200, idleMs)); // Pub/Sub may answer empty at once: do not spin
        continue;
      }
      const acks: string[] = [];
      await Promise.all(
        received.map(async (r) => {
          const copy = holdCopyOf(r);
          // A copy seen already (its lease ran out and it came again) or past max: not ours to take.
          if (seen.has(copy.id)) {
            stats.cameAgain++;
            const previous = leased.get(copy.id);
            if (previous) release.push(previous);
            return void leased.set(copy.id, r.ackId!);
          }
          if (failure || seen.size >= max) return void release.push(r.ackId!);
          seen.add(copy.id);
          try {
            if (await visitor.handle(copy)) acks.push(r.ackId!);
            else leased.set(copy.id, r.ackId!);
          } catch (error) {
            failure ??= error as Error;
            release.push(r.ackId!);
          }
        }),
      );
      for (const ids of chunks(acks)) await rpc.acknowledge(ids);
      stats.acked += acks.length;
      // Idle is time spent waiting for the hold, not handling what it gave: a large hold's batches
      // take a while to handle, and counting that as idle ended listings with most of a hold unread.
      lastMessageAt = Date.now();
    }
  } finally {
    const extras = failure ? new Set<string>() : (visitor.extrasFoundLater?.() ?? new Set<string>());
    const lateAcks = [...leased].filter(([id]) => extras.has(id)).map(([, ackId]) => ackId);
    release.push(...[...leased].filter(([id]) => !extras.has(id)).map(([, ackId]) => ackId));
    // An ack whose lease ran out is refused; the extra stays and the next listing removes it.
    for (const ids of chunks(lateAcks)) await rpc.acknowledge(ids).catch(() => undefined);
    for (const ids of chunks(release)) await rpc.modifyAckDeadline(ids, 0).catch(() => undefined); // else back after its deadline
    await rpc.close();
    options.onListed?.({ ...stats, copies: seen.size, acked: stats.acked + lateAcks.length, released: release.length, elapsedMs: Date.now() - startedAt });
  }
  if (failure) throw failure;
}

/**
 * Which delivered message a held copy is: the runtime writes the original message id (`messageId`)
 * on every copy it dead-letters. A consumer that crashed after dead-lettering a message and before
 * acking it gets the message again and dead-letters it again (publishing is at-least-once too): both
 * copies are the same message. Copies Pub/Sub forwarded itself carry no id of their own source; each
 * is its own message unless sourceKey() joins it to another (HeldCopies).
 */
export function heldKey(m: Pick<HoldCopy, 'id' | 'attributes'>): string {
  const a = m.attributes ?? {};
  return a.messageId ? `${a.sourceSubscription ?? ''}/${a.messageId}` : m.id;
}

/** Bytes of a copy's data that sourceKey digests. */
const DIGEST_PREFIX_BYTES = 64 * 1024;

/**
 * The delivered message a copy came from, as both kinds of copy can tell it: the subscription (last
 * path segment: the runtime may write the full path, Pub/Sub writes the name), the original
 * publish time to the millisecond, the event id and a digest of the data (unchanged in both).
 * Undefined when the copy does not say where it came from or when it was published.
 *
 * Needed because a message can be dead-lettered by both: the runtime dead-letters it, its service
 * dies before the ack, every later delivery dies too, and after max attempts Pub/Sub forwards its
 * own copy, which has no `messageId`. Google also documents that Pub/Sub itself may dead-letter the
 * same message more than once ("Dead lettering is done on a best effort basis. The same message
 * might be dead lettered multiple times.", DeadLetterPolicy in the Pub/Sub v1 API reference).
 */
export function sourceKey(m: Pick<HoldCopy, 'attributes' | 'data'>): string | undefined {
  const a = m.attributes ?? {};
  const subscription = a.sourceSubscription ?? a[`${PUBSUB_DEAD_LETTER_PREFIX}Subscription`];
  const published = Date.parse(a.publishTime ?? a[`${PUBSUB_DEAD_LETTER_PREFIX}TopicPublishTime`] ?? '');
  if (!subscription || !Number.isFinite(published)) return undefined;
  // The other parts already single a message out; the data only tells apart copies that agree on
  // all of them, so its length and first bytes do (hashing whole multi-MB payloads of a large hold
  // held up the listing long enough to end it early).
  const digest = createHash('sha256').update(m.data.subarray(0, DIGEST_PREFIX_BYTES)).digest('base64url');
  return [subscription.slice(subscription.lastIndexOf('/') + 1), published, a['ce-id'] ?? '', m.data.length, digest].join('|');
}

/**
 * The copies of one listing, each message once:
 * - a runtime copy of a message already kept (heldKey) is extra;
 * - a Pub/Sub copy of a message already kept, by either kind (sourceKey), is extra;
 * - a runtime copy of a message kept so far only as Pub/Sub's copy takes its place, since it says
 *   why (its reason); Pub/Sub's copy, already passed over, is named in `extrasFoundLater`.
 * Two runtime copies of different delivered messages stay apart even when sourceKey matches.
 */
export class HeldCopies {
  private readonly byHeldKey = new Set<string>();
  /** sourceKey -> the Pub/Sub copy kept for it, or null once a runtime copy is kept for it. */
  private readonly bySource = new Map<string, { copy: HoldCopy } | null>();
  readonly kept = new Map<string, HoldCopy>();
  readonly extrasFoundLater = new Set<string>();

  /**
   * `extra` for another copy of a message taken already; `new`; or, for a runtime copy of a message
   * taken so far as Pub/Sub's copy, the hold message id of that copy, which `m` replaces.
   */
  take(m: HoldCopy): 'extra' | 'new' | { replaces: string } {
    const source = sourceKey(m);
    let replaced: string | undefined;
    if (!m.attributes?.messageId) {
      if (source && this.bySource.has(source)) return 'extra';
      if (source) this.bySource.set(source, { copy: m });
    } else {
      if (this.byHeldKey.has(heldKey(m))) return 'extra';
      this.byHeldKey.add(heldKey(m));
      replaced = source ? this.bySource.get(source)?.copy.id : undefined;
      if (replaced) {
        this.kept.delete(replaced);
        this.extrasFoundLater.add(replaced);
      }
      if (source) this.bySource.set(source, null);
    }
    this.kept.set(m.id, m);
    return replaced ? { replaces: replaced } : 'new';
  }
}

/**
 * Lists what waits in the hold, leaving it there: one entry per message. Extra copies of a message
 * (HeldCopies) are removed, so the hold keeps each message once.
 */
export async function listHeld(pubsub: PubSub, consumer: ConsumerSpec, options: HoldOptions = {}): Promise<HeldMessage[]> {
  const copies = new HeldCopies();
  await drainHold(pubsub, consumer, options, {
    handle: async (m) => copies.take(m) === 'extra', // an extra copy: ack it away
    extrasFoundLater: () => copies.extrasFoundLater,
  });
  return [...copies.kept.values()].map(heldMessageOf).sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt));
}
