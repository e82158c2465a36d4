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
 *   every leaseSeconds/3: ModifyAckDeadline(leaseSeconds) for everything still out
 *   every 20 ms: ModifyAckDeadline(delay) per nack delay, then Acknowledge(acked ids)
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { google } from '@google-cloud/pubsub/build/protos/protos';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingMessage } from '../envelope';
import type { Logger } from './logger';
import type { SubscriptionAccess } from './subscription-access';

/** A Pull waits this long for messages before it is asked again (stop() waits at most this). */
const PULL_WAIT_MS = 2000;
/** Acks and deadline changes are sent in batches, at most this late. */
const SETTLE_BATCH_MS = 20;
/** Pub/Sub takes at most this many ack ids per Acknowledge / ModifyAckDeadline. */
const MAX_IDS_PER_CALL = 2500;
const DEFAULT_MAX_LEASE_MS = 60 * 60 * 1000; // the Node client's default maxExtension

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

/** Pub/Sub refused an ack or deadline change; `code` is its per-message reason when it gave one (e.g. PERMANENT_FAILURE_INVALID_ACK_ID). */
export class AckFailedError extends Error {
  override readonly name = 'AckFailedError';
  constructor(
    message: string,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type ReceivedMessage = google.pubsub.v1.IReceivedMessage;
type Waiter = { resolve(): void; reject(error: Error): void } | undefined;

export class UnaryPuller {
  private readonly maxLeaseMs: number;
  private inFlightCount = 0;
  private maxSeen = 0;
  /** ack id -> when it was pulled, for every message out. */
  private readonly leases = new Map<string, number>();
  private readonly acks = new Map<string, Waiter>();
  /** deadline seconds -> ack ids. */
  private readonly deadlines = new Map<number, Map<string, Waiter>>();
  private subscriptionPath = '';
  private running?: Promise<void>;
  private pulling = false;
  private pullFailing = false;
  private slotFreed?: () => void;
  /** Aborted by stopPulling(): ends a backoff wait at once, so shutdown never waits one out. */
  private readonly stopped = new AbortController();
  private settleTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  /**
   * Every Acknowledge / ModifyAckDeadline goes through this chain, one batch at a time: a lease
   * renewal answered after a nack's ModifyAckDeadline(0) would otherwise hold the message back for a
   * whole ack deadline (Pub/Sub applies whichever arrives last).
   */
  private rpcChain: Promise<void> = Promise.resolve();

  constructor(private readonly options: UnaryPullerOptions) {
    if (!(options.maxInFlight > 0)) throw new RangeError(`maxInFlight must be > 0 (got ${options.maxInFlight})`);
    this.maxLeaseMs = options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS;
  }

  /** projects/<p>/subscriptions/<id>, once started. */
  get path(): string {
    return this.subscriptionPath;
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

  async start(): Promise<void> {
    const projectId = (await this.options.pubsub.getClientConfig()).projectId;
    this.subscriptionPath = `projects/${projectId}/subscriptions/${this.options.subscription}`;
    this.pulling = true;
    const renewEveryMs = Math.max(1000, (this.options.leaseSeconds * 1000) / 3);
    this.leaseTimer = setInterval(() => this.renewLeases(), renewEveryMs);
    this.leaseTimer.unref();
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
   * Stops pulling, sends every message still out back (deadline 0) in the order they were pulled, and
   * flushes every ack and deadline change. The emulator redelivers in the order messages are sent
   * back and may hand out a key's later, never-pulled messages before them; so settle what was
   * pulled before closing wherever order matters (PullConsumer.drained()).
   */
  async close(): Promise<void> {
    await this.stopPulling();
    clearInterval(this.leaseTimer);
    for (const ackId of [...this.leases.keys()]) this.settle(ackId, 0, undefined);
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    await this.flush();
  }

  private async loop(): Promise<void> {
    let backoffMs = 0;
    while (this.pulling) {
      if (this.inFlightCount >= this.options.maxInFlight) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let received: ReceivedMessage[];
      const { access } = this.options;
      if (access && !access.isOpen) access.attempting();
      try {
        received = await this.pull(this.options.maxInFlight - this.inFlightCount);
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
      // Also when stopPulling() came meanwhile: sending these back unhandled could reorder their keys (see close()).
      for (const r of received) this.dispatch(r);
      // The emulator holds an empty Pull open until messages come; should one return empty at once, do not spin.
      if (!received.length) await sleep(50);
    }
  }

  /** Sleeps ms, or less if stopPulling() comes first. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  private pull(maxMessages: number): Promise<ReceivedMessage[]> {
    return this.call<google.pubsub.v1.IPullResponse>('pull', { subscription: this.subscriptionPath, maxMessages }, { timeout: PULL_WAIT_MS, retry: null }).then(
      (response) => response?.receivedMessages ?? [],
    );
  }

  private dispatch(received: ReceivedMessage): void {
    const ackId = received.ackId!;
    this.inFlightCount++;
    this.maxSeen = Math.max(this.maxSeen, this.inFlightCount);
    this.leases.set(ackId, Date.now());
    const withResponse = (delaySeconds: number | 'ack') => new Promise<void>((resolve, reject) => this.settle(ackId, delaySeconds, { resolve, reject }));
    const message: PulledMessage = {
      incoming: toIncoming(received),
      ack: () => this.settle(ackId, 'ack', undefined),
      nack: (delayMs = 0) => this.settle(ackId, toDeadlineSeconds(delayMs), undefined),
      ackWithResponse: () => withResponse('ack'),
      nackWithResponse: (delayMs = 0) => withResponse(toDeadlineSeconds(delayMs)),
    };
    this.options.onMessage(message);
  }

  /** Frees the message's slot and queues its ack or deadline change; a second settle of the same message is ignored. */
  private settle(ackId: string, what: number | 'ack', waiter: Waiter): void {
    if (!this.leases.delete(ackId)) {
      waiter?.reject(new AckFailedError(`message already settled (ack id ${ackId.slice(0, 12)}…)`));
      return;
    }
    this.inFlightCount--;
    if (what === 'ack') this.acks.set(ackId, waiter);
    else this.addDeadline(what, ackId, waiter);
    this.scheduleFlush();
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  private addDeadline(seconds: number, ackId: string, waiter: Waiter): void {
    let ids = this.deadlines.get(seconds);
    if (!ids) this.deadlines.set(seconds, (ids = new Map()));
    ids.set(ackId, waiter);
  }

  private wake(): void {
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  private renewLeases(): void {
    void this.inOrder(async () => {
      // Read when its turn comes, so a message settled meanwhile is not renewed after its nack.
      // Past maxLeaseMs a message is left to expire (and come back); its slot stays taken until it is settled.
      const now = Date.now();
      const renew: string[] = [];
      for (const [ackId, since] of this.leases) if (now - since <= this.maxLeaseMs) renew.push(ackId);
      await Promise.all(
        chunks(renew).map((ids) =>
          this.call('modifyAckDeadline', { subscription: this.subscriptionPath, ackIds: ids, ackDeadlineSeconds: this.options.leaseSeconds }).catch((error: Error) =>
            this.options.log.warn({ err: error, subscription: this.options.subscription, messages: ids.length }, 'lease renewal failed; these messages may be redelivered'),
          ),
        ),
      );
    });
  }

  private scheduleFlush(): void {
    this.settleTimer ??= setTimeout(() => {
      this.settleTimer = undefined;
      void this.flush();
    }, SETTLE_BATCH_MS);
  }

  /**
   * Sends what is queued when its turn comes; resolves when those calls are answered. Deadline
   * changes (nacks) go first, acks once they are answered. Why, on an ordered exactly-once
   * subscription of the emulator: a message nacked while a later one of its key waits is redelivered
   * behind it ([B, A] after A's nack), and an ack of A is then refused (INVALID_ARGUMENT) while B,
   * "ahead" of it, is out, which leaves the key stuck for a whole ack deadline. The runtime nacks B
   * (it waits for A) and acks A; sent in that order both go through. In GCP the order is harmless.
   */
  private flush(): Promise<void> {
    return this.inOrder(async () => {
      const acks = [...this.acks];
      this.acks.clear();
      const deadlines = [...this.deadlines];
      this.deadlines.clear();
      const changes: Promise<void>[] = [];
      for (const [ackDeadlineSeconds, ids] of deadlines) for (const batch of chunks([...ids])) changes.push(this.send('modifyAckDeadline', { ackDeadlineSeconds }, batch));
      await Promise.all(changes);
      await Promise.all(chunks(acks).map((batch) => this.send('acknowledge', {}, batch)));
    });
  }

  private inOrder(task: () => Promise<void>): Promise<void> {
    const next = this.rpcChain.then(task);
    this.rpcChain = next.catch(() => undefined);
    return next;
  }

  /**
   * One Acknowledge / ModifyAckDeadline. On an exactly-once subscription a failed call names the ack
   * ids that failed (ErrorInfo metadata, as the Node client reads it); the others went through.
   */
  private async send(method: 'acknowledge' | 'modifyAckDeadline', extra: object, batch: [string, Waiter][]): Promise<void> {
    try {
      await this.call(method, { subscription: this.subscriptionPath, ackIds: batch.map(([id]) => id), ...extra });
      for (const [, waiter] of batch) waiter?.resolve();
    } catch (error) {
      const perId = (error as { errorInfoMetadata?: Record<string, string> }).errorInfoMetadata;
      let unreported = 0;
      for (const [ackId, waiter] of batch) {
        const code = perId ? perId[ackId] : undefined;
        if (perId && !code) {
          waiter?.resolve();
          continue;
        }
        if (waiter) waiter.reject(new AckFailedError(`${method} failed: ${(error as Error).message}`, code, { cause: error }));
        else unreported++;
      }
      if (unreported) this.options.log.warn({ err: error, subscription: this.options.subscription, messages: unreported }, `${method} failed; Pub/Sub will redeliver`);
    }
  }

  /** A unary call on the client's own subscriber connection. */
  private call<T>(method: string, reqOpts: object, gaxOpts: object = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (this.options.pubsub as unknown as { request: (config: object, callback: (error: Error | null, response: T) => void) => void }).request(
        { client: 'SubscriberClient', method, reqOpts, gaxOpts },
        (error, response) => (error ? reject(error) : resolve(response)),
      );
    });
  }
}

/** An ack deadline for a redelivery after delayMs: whole seconds, at most Pub/Sub's 600. */
function toDeadlineSeconds(delayMs: number): number {
  return Math.min(600, Math.max(0, Math.ceil(delayMs / 1000)));
}

function chunks<T>(items: Iterable<T>): T[][] {
  const all = [...items];
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += MAX_IDS_PER_CALL) out.push(all.slice(i, i + MAX_IDS_PER_CALL));
  return out;
}

function toIncoming(received: ReceivedMessage): IncomingMessage {
  const m = received.message!;
  const seconds = Number(m.publishTime?.seconds ?? 0);
  const nanos = m.publishTime?.nanos ?? 0;
  return {
    data: Buffer.from(m.data ?? new Uint8Array()),
    attributes: (m.attributes ?? {}) as Record<string, string>,
    messageId: m.messageId!,
    publishTime: m.publishTime ? new Date(seconds * 1000 + Math.floor(nanos / 1e6)) : undefined,
    orderingKey: m.orderingKey || undefined,
    deliveryAttempt: received.deliveryAttempt ? received.deliveryAttempt : undefined,
  };
}
