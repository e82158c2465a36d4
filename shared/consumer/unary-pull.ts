/**
 * Pull by unary Pull calls, for exactly as many messages as there are free slots; leases renewed
 * while a message is out; acks and deadline changes sent in batches.
 *
 * This is for the Pub/Sub emulator. Its StreamingPull streams past the client's flow control: a
 * backlog lands in the client at once, what waits there longer than the ack deadline comes back
 * (duplicates; on an exactly-once subscription the late acks fail with INVALID_ARGUMENT and the
 * backlog is redelivered again and again), and every message out costs the emulator CPU (about one
 * core per 1000 outstanding, measured). Pulling only what can be worked on leaves the rest in the
 * emulator, as GCP's server-side flow control does. Used by pull consumers on the emulator
 * (PullConsumer `transport: 'unary'`) and by the local push relay.
 *
 *   Pull(maxMessages = free slots) --> onMessage(m) ... m.ack() / m.nack(delayMs)  (slot freed)
 *   every leaseSeconds/3: ModifyAckDeadline(leaseSeconds) for everything still out   (lease-extender.ts)
 *   every 20 ms: ModifyAckDeadline(delay) per nack delay, then Acknowledge(acked ids) (settle-queue.ts)
 *
 * The calls go through the library's public generated client (subscriber-rpc.ts), one per puller.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingMessage } from '../envelope';
import { LeaseExtender } from './lease-extender';
import type { Logger } from './logger';
import { AckFailedError, SettleQueue, type Waiter } from './settle-queue';
import { publishTimeOf, SubscriberRpc, type ReceivedMessage } from './subscriber-rpc';
import type { SubscriptionAccess } from './subscription-access';

export interface UnaryPullerOptions {
  pubsub: PubSub;
  /** Subscription id. */
  subscription: string;
  /** Messages out (pulled and neither acked nor nacked) at most. */
  maxInFlight: number;
  /** Ack deadline (s) a message out is kept at: renewed every third of it. Use the subscription's ack deadline. */
  leaseSeconds: number;
  /** A message out longer than this is no longer renewed, and comes back. Default 60 min (the Node client's maxExtension). */
  maxLeaseMs?: number;
  log: Logger;
  /** Called once per message pulled; the message holds a slot until it is acked or nacked. */
  onMessage(message: PulledMessage): void;
  /**
   * Least time between the starts of two Pulls, unless the last one came back full and half the slots
   * are free (a backlog being drained; "full": BACKLOG_PULL_SIZE). Default MIN_PULL_INTERVAL_MS (50 ms): see there.
   */
  minPullIntervalMs?: number;
  /**
   * Told how each Pull went; waits out PERMISSION_DENIED / NOT_FOUND / UNAVAILABLE with its own
   * backoff, and the puller is not ready while it waits (PullConsumer). Default none: every failed
   * Pull backs off 200 ms..5 s.
   */
  access?: SubscriptionAccess;
}

/** One message out. Settle it exactly once (later calls are ignored). */
export interface PulledMessage {
  readonly incoming: IncomingMessage;
  /** Acknowledge (batched); a failure is logged and Pub/Sub redelivers. */
  ack(): void;
  /** Redeliver after delayMs (rounded up to whole seconds, at most 600; 0 = at once). */
  nack(delayMs?: number): void;
  /** ack() that says whether Pub/Sub took it: rejects with AckFailedError (an expired ack id on an exactly-once subscription). */
  ackWithResponse(): Promise<void>;
  nackWithResponse(delayMs?: number): Promise<void>;
}

type Settle = (ackId: string, what: number | 'ack', waiter: Waiter) => void;

/**
 * One pulled message. Its methods live on the prototype: every message of a busy consumer (and of
 * the local push relays) goes through here, and closures per message (plus tsx's name helper for
 * each) were a measurable share of the warehouse loader's CPU (docs/performance.md, the warehouse
 * profile).
 */
class PulledDelivery implements PulledMessage {
  constructor(
    readonly incoming: IncomingMessage,
    private readonly ackId: string,
    private readonly settle: Settle,
  ) {}

  ack(): void {
    this.settle(this.ackId, 'ack', undefined);
  }

  nack(delayMs = 0): void {
    this.settle(this.ackId, toDeadlineSeconds(delayMs), undefined);
  }

  ackWithResponse(): Promise<void> {
    return this.withResponse('ack');
  }

  nackWithResponse(delayMs = 0): Promise<void> {
    return this.withResponse(toDeadlineSeconds(delayMs));
  }

  private withResponse(what: number | 'ack'): Promise<void> {
    return new Promise<void>((resolve, reject) => this.settle(this.ackId, what, { resolve, reject }));
  }
}

export class UnaryPuller {
  private inFlightCount = 0;
  private maxSeen = 0;
  /** Set by start(). */
  private rpc?: SubscriberRpc;
  private leases?: LeaseExtender;
  private settles?: SettleQueue;
  private running?: Promise<void>;
  private pulling = false;
  private pullFailing = false;
  private slotFreed?: () => void;
  private pullCount = 0;
  private lastPullAt?: number;
  private lastPullStartedAt = 0;
  private lastPullFull = false;
  /** Aborted by stopPulling(): ends a backoff wait at once, so shutdown never waits one out. Renewed by resumePulling(). */
  private stopped = new AbortController();

  constructor(private readonly options: UnaryPullerOptions) {
    if (!(options.maxInFlight > 0)) throw new RangeError(`maxInFlight must be > 0 (got ${options.maxInFlight})`);
  }

  /** projects/<p>/subscriptions/<id>, once started. */
  get path(): string {
    return this.rpc?.path ?? '';
  }

  /** Pulling, and the last Pull did not fail (nor is `access` waiting out a refusal). */
  get ready(): boolean {
    return this.pulling && !this.pullFailing && !this.options.access?.waiting;
  }

  /** Messages out now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** The most messages out at once so far. */
  get maxInFlightSeen(): number {
    return this.maxSeen;
  }

  /** Pulls answered (with messages, empty or failed) so far, and when the last one was: a stuck puller shows here. */
  get pullsAnswered(): { count: number; lastAt?: number } {
    return { count: this.pullCount, lastAt: this.lastPullAt };
  }

  /** Opens the client and starts pulling; with `paused`, opens it only (resumePulling() pulls). */
  async start(options: { paused?: boolean } = {}): Promise<void> {
    const { pubsub, subscription, log, leaseSeconds, maxLeaseMs } = this.options;
    const rpc = await SubscriberRpc.open(pubsub, subscription);
    const settles = new SettleQueue({ rpc, log, subscription });
    this.rpc = rpc;
    this.settles = settles;
    this.leases = new LeaseExtender({ rpc, inTurn: (task) => settles.inTurn(task), leaseSeconds, maxLeaseMs, log, subscription });
    this.leases.start();
    if (options.paused) return;
    this.pulling = true;
    this.running = this.loop();
  }

  /**
   * Sends no more Pulls; messages out can still be settled. Resolves when the last Pull has returned
   * (at most ~2 s) and handed out what it brought.
   */
  async stopPulling(): Promise<void> {
    this.pulling = false;
    this.stopped.abort();
    this.wake();
    await this.running;
  }

  /**
   * Pulls again after stopPulling() (a paused consumer resumed, shared/operations/controls.ts). The
   * client, leases and settles stayed open meanwhile, so nothing is opened again.
   */
  resumePulling(): void {
    if (this.pulling || !this.rpc) return;
    this.stopped = new AbortController();
    this.pulling = true;
    this.running = this.loop();
  }

  /**
   * Stops pulling, sends every message still out back (deadline 0) in the order they were pulled, and
   * flushes every ack and deadline change, then closes the client. The emulator redelivers in the
   * order messages are sent back and may hand out a key's later, never-pulled messages before them;
   * so settle what was pulled before closing wherever order matters (PullConsumer.drained()).
   */
  async close(): Promise<void> {
    await this.stopPulling();
    if (!this.rpc) return;
    this.leases!.stop();
    for (const ackId of this.leases!.ackIds()) this.settle(ackId, 0, undefined);
    await this.settles!.flush();
    await this.rpc.close();
  }

  private async loop(): Promise<void> {
    let backoffMs = 0;
    let idleMs = 0;
    while (this.pulling) {
      // Only free slots are pulled: what is not pulled stays in the emulator (see the top).
      if (this.inFlightCount >= this.options.maxInFlight) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      const { access, maxInFlight } = this.options;
      if (!(this.lastPullFull && maxInFlight - this.inFlightCount >= maxInFlight / 2)) {
        const waitMs = this.lastPullStartedAt + (this.options.minPullIntervalMs ?? MIN_PULL_INTERVAL_MS) - Date.now();
        if (waitMs > 0) {
          await this.pause(waitMs);
          continue;
        }
      }
      let received: ReceivedMessage[];
      if (access && !access.isOpen) access.attempting();
      const asked = maxInFlight - this.inFlightCount;
      this.lastPullStartedAt = Date.now();
      try {
        received = await this.rpc!.pull(asked).finally(() => {
          this.pullCount++;
          this.lastPullAt = Date.now();
        });
        backoffMs = 0;
        this.pullFailing = false;
        access?.opened();
      } catch (error) {
        // 4 = DEADLINE_EXCEEDED: the Pull was held and nothing arrived (so it was accepted). Anything else: back off.
        if ((error as { code?: number }).code === 4) {
          this.pullFailing = false;
          access?.opened();
          continue;
        }
        this.pullFailing = true;
        const waitMs = access?.refused(error);
        if (waitMs !== undefined) {
          backoffMs = 0;
          await this.pause(waitMs);
          continue;
        }
        backoffMs = Math.min(Math.max(backoffMs * 2, 200), 5000);
        this.options.log.warn({ err: error, subscription: this.options.subscription, retryInMs: backoffMs }, 'unary pull failed');
        await this.pause(backoffMs);
        continue;
      }
      // The emulator returns at most about 100 per Pull however many are asked for, so a Pull that
      // brought BACKLOG_PULL_SIZE found a backlog even when it is short of `asked`.
      this.lastPullFull = received.length >= Math.min(asked, BACKLOG_PULL_SIZE);
      // Also when stopPulling() came meanwhile: sending these back unhandled could reorder their keys (see close()).
      for (const r of received) this.dispatch(r);
      // The emulator answers at once (subscriber-rpc.ts): when empty, ask again after 25 ms doubling
      // to 200 ms, so an idle puller costs it ~5 Pulls a second and a new message waits at most 200 ms.
      if (received.length) idleMs = 0;
      else {
        idleMs = Math.min(Math.max(idleMs * 2, IDLE_MIN_MS), IDLE_MAX_MS);
        await this.pause(idleMs);
      }
    }
  }

  /** Sleeps ms, or less if stopPulling() comes first. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  private dispatch(received: ReceivedMessage): void {
    const ackId = received.ackId!;
    this.inFlightCount++;
    this.maxSeen = Math.max(this.maxSeen, this.inFlightCount);
    this.leases!.add(ackId);
    this.options.onMessage(new PulledDelivery(toIncoming(received), ackId, this.settleMessage));
  }

  /** settle(), made once: what every PulledDelivery of this puller calls. */
  private readonly settleMessage: Settle = (ackId, what, waiter) => this.settle(ackId, what, waiter);

  /** Frees the message's slot and queues its ack or deadline change; a second settle of the same message is ignored. */
  private settle(ackId: string, what: number | 'ack', waiter: Waiter): void {
    if (!this.leases!.remove(ackId)) {
      waiter?.reject(new AckFailedError(`message already settled (ack id ${ackId.slice(0, 12)}…)`));
      return;
    }
    this.inFlightCount--;
    if (what === 'ack') this.settles!.ack(ackId, waiter);
    else this.settles!.modAck(ackId, what, waiter);
    this.wake();
  }

  private wake(): void {
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }
}

/**
 * Pulls are spaced (UnaryPullerOptions.minPullIntervalMs) because each costs the emulator work that
 * grows with what it has seen, not with what it returns: on an ordered subscription its Pull walks
 * every ordering key it has ever held (OrderedMessageBacklog.getAllBacklogsForPull, the top of a JFR
 * profile of the emulator under the mesh's load: docs/performance.md). Pulling as soon as one slot
 * frees made one Pull per message under load; spaced, a Pull brings what arrived meanwhile. 50 ms
 * bounds a puller to 20 Pulls a second and adds at most 50 ms to a message's wait.
 */
export const MIN_PULL_INTERVAL_MS = 50;

/**
 * A Pull that brings this many (or all it asked for) found a backlog: the next goes out at once.
 * Not "all it asked for" alone: with that rule a warehouse consumer (5,000 slots) waited 50 ms after
 * each ~100-message Pull, and `npm run bench -- pull-transport` drained an unordered backlog at
 * 2,022 msg/s; with 20, at 16,397 msg/s (1.93x StreamingPull; 50 gave 12,069, one run each).
 */
export const BACKLOG_PULL_SIZE = 20;

/** Wait after an empty Pull: from this, doubling ... */
const IDLE_MIN_MS = 25;
/** ... to this. */
const IDLE_MAX_MS = 200;

/** An ack deadline for a redelivery after delayMs: whole seconds, at most Pub/Sub's 600. */
function toDeadlineSeconds(delayMs: number): number {
  return Math.min(600, Math.max(0, Math.ceil(delayMs / 1000)));
}

function toIncoming(received: ReceivedMessage): IncomingMessage {
  const m = received.message!;
  return {
    data: Buffer.from(m.data ?? new Uint8Array()),
    attributes: m.attributes ?? {},
    messageId: m.messageId!,
    publishTime: publishTimeOf(m),
    orderingKey: m.orderingKey || undefined,
    deliveryAttempt: received.deliveryAttempt ? received.deliveryAttempt : undefined,
  };
}
