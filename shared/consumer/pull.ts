/**
 * Pull delivery: a subscriber per consumer, with the spec's flow control, ack on
 * done/duplicate/dead-lettered and nack on transient failure; `ackWithResponse` when the
 * subscription has exactly-once delivery, so a lost ack is seen (and logged) rather than assumed.
 *
 * Transport: StreamingPull through the Node client (`'streaming'`, the default and the one for GCP),
 * or unary Pull for exactly the free slots (`'unary'`, unary-pull.ts) for the emulator, whose
 * StreamingPull ignores flow control. `mesh up` runs its services with unary (MESH_PULL_TRANSPORT).
 *
 * Ordering: the Node client emits one key's messages in order but does not wait for an async
 * handler, so with `ordering: true` this runs one message per ordering key at a time. When one
 * fails transiently, Pub/Sub will redeliver it and everything after it on that key; the messages
 * already here behind it are nacked unprocessed until it comes back, and then run in the order
 * they first came (ordering.ts: the emulator redelivers them out of order), so the handler never
 * sees a key out of order because of our own retries.
 *
 * Start-up: start() opens the subscription and returns; it reads no metadata (roles/pubsub.subscriber
 * has no pubsub.subscriptions.get). While Pub/Sub refuses the subscription (PERMISSION_DENIED,
 * NOT_FOUND, UNAVAILABLE) the transport waits and tries again (subscription-access.ts), `ready` is
 * false and `notReadyReason` says why; only an invalid subscription name fails start().
 *
 * Pause (a paused consumer, shared/operations/controls.ts): pause() stops intake as beginDrain() does
 * and lets what was pulled finish and settle; unary then simply sends no Pulls, StreamingPull closes
 * its stream (what arrived on it meanwhile is nacked, as at shutdown). resume() pulls again.
 *
 * Shutdown: beginDrain() stops intake and lets what was pulled finish, key queues included
 * (drained() says when); close() then sends back what never started. Sending back as little as
 * possible matters on the emulator, which redelivers a key's messages in the order they were sent
 * back, and may hand out the key's never-pulled later messages before them.
 */
import { Duration, SubscriptionCloseBehaviors, type Message, type PubSub, type Subscription } from '@google-cloud/pubsub';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { isLastAttempt } from './dead-letter';
import { StreamingDelivery, type Delivery } from './delivery';
import { InFlight } from './inflight';
import type { Logger } from './logger';
import { KeyedQueue, KeyOrder } from './ordering';
import type { Pipeline } from './pipeline';
import { assertSubscriptionName, refusalCode, SubscriptionAccess, type OpenRetryOptions } from './subscription-access';
import type { Outcome } from './types';
import { UnaryPuller } from './unary-pull';

const MIN_REOPEN_DELAY_MS = 1000;
const MAX_REOPEN_DELAY_MS = 30_000;

export interface PullConsumerOptions {
  pubsub: PubSub;
  consumer: ConsumerSpec;
  pipeline: Pipeline;
  log: Logger;
  /** Which subscription to pull. Default the consumer's own; its redrive subscription takes replays and redrives. */
  subscription?: string;
  /** StreamingPull streams per subscription. Default: the client's (5). */
  maxStreams?: number;
  /** How long close() may take to nack leftovers and flush acks. Default 3 s. */
  closeTimeoutMs?: number;
  /** 'streaming' (default): StreamingPull. 'unary': Pull for exactly the free slots (for the emulator). */
  transport?: PullTransport;
  /** Waiting out a refused subscription (PERMISSION_DENIED, NOT_FOUND, UNAVAILABLE). Defaults: DEFAULT_OPEN_RETRY (1 s doubling to 30 s). */
  openRetry?: OpenRetryOptions;
}

export type PullTransport = 'streaming' | 'unary';

export class PullConsumer {
  readonly consumer: ConsumerSpec;
  private subscription?: Subscription;
  private puller?: UnaryPuller;
  /** projects/<p>/subscriptions/<id>, once started (what the pipeline is told). */
  private subscriptionPath = '';
  /** No new intake; what was pulled still runs. */
  private draining = false;
  /** Queued messages no longer start: close() sends them back. */
  private closing = false;
  private closed = false;
  private readonly keys = new KeyedQueue();
  /** Every message handed to us until it is settled (or left for close()). */
  private readonly work = new InFlight();
  /** Each key's order across our retries. */
  private readonly order: KeyOrder;
  private readonly log: Logger;
  private reopenTimer?: NodeJS.Timeout;
  private reopenDelayMs = MIN_REOPEN_DELAY_MS;
  private access?: SubscriptionAccess;
  /** The stream's last error, read when it closes. */
  private streamError?: Error;
  /** Unary: resolves once the last Pull has returned and handed out what it brought (beginDrain()). */
  private lastPull?: Promise<void>;
  /** Paused by its control: no intake, and `ready` (an idle consumer is not a broken one). */
  private pausedNow = false;
  /** The pause in progress (its work settling, then the stream closed). */
  private pausing?: Promise<void>;

  constructor(private readonly options: PullConsumerOptions) {
    this.consumer = options.consumer;
    this.log = options.log.child({ consumer: options.consumer.name, delivery: 'pull' });
    // A failed message is back within maxBackoff (the subscription's retry policy); wait an ack deadline more.
    this.order = new KeyOrder({ waitMs: options.consumer.ackDeadlineSeconds * 1000 });
  }

  /** Started and receiving: Pub/Sub is not refusing the subscription, the stream or Pulls have not failed, and we are not shutting down. */
  get ready(): boolean {
    if (this.pausedNow && !this.draining) return true;
    if (this.draining || !this.access || this.access.waiting) return false;
    return this.puller ? this.puller.ready : Boolean(this.subscription?.isOpen);
  }

  /** Why not ready, for /readyz (undefined when ready or shutting down). */
  get notReadyReason(): string | undefined {
    if (this.ready || this.draining) return undefined;
    const name = this.consumer.name;
    if (!this.access) return `${name}: not started`;
    return (
      this.access.reason() ??
      (this.puller ? `${name}: pulls from ${this.subscriptionPath} are failing; retrying` : `${name}: stream on ${this.subscriptionPath} closed; reopening`)
    );
  }

  /** Starts pulling and returns; does not wait for Pub/Sub to accept the subscription (see `ready`). */
  async start(): Promise<void> {
    const { pubsub, consumer } = this.options;
    const name = this.options.subscription ?? consumerResources(consumer).subscription;
    assertSubscriptionName(name, consumer.name);
    this.access = new SubscriptionAccess({
      consumer: consumer.name,
      subscription: name,
      log: this.log,
      emulator: pubsub.isEmulator,
      retry: this.options.openRetry,
    });
    if (this.options.transport === 'unary') await this.startUnary(name);
    else {
      this.startStreaming(name);
      // Paused before it started: the stream just opened is closed again at once.
      if (this.pausedNow) this.pausing = this.subscription!.close();
    }
    this.log.info(
      {
        subscription: this.subscriptionPath,
        transport: this.options.transport ?? 'streaming',
        flowControl: consumer.flowControl,
        exactlyOnce: consumer.exactlyOnce,
        ordering: consumer.ordering,
      },
      'pull consumer started',
    );
  }

  private startStreaming(name: string): void {
    const { pubsub, consumer } = this.options;
    const access = this.access!;
    const subscription = pubsub.subscription(name, {
      flowControl: { maxMessages: consumer.flowControl.maxMessages, maxBytes: consumer.flowControl.maxBytes, allowExcessMessages: false },
      closeOptions: { behavior: SubscriptionCloseBehaviors.NackImmediately, timeout: Duration.from({ milliseconds: this.options.closeTimeoutMs ?? 3000 }) },
      ...(this.options.maxStreams ? { streamingOptions: { maxStreams: this.options.maxStreams } } : {}),
    });
    subscription.on('message', (message: Message) => {
      access.opened();
      this.onMessage(new StreamingDelivery(message));
    });
    subscription.on('error', (error: Error) => {
      this.streamError = error;
      // A refusal is logged by access when the stream closes.
      if (!refusalCode(error)) this.log.error({ err: error }, 'subscription stream error');
    });
    subscription.on('close', () => {
      if (this.draining || this.pausedNow) return;
      const error = this.streamError;
      this.streamError = undefined;
      // The client retries UNAVAILABLE itself and gives up on PERMISSION_DENIED / NOT_FOUND (and on
      // other non-retryable errors; the emulator ends ordered streams with UNKNOWN): reopen, /readyz 503 meanwhile.
      let delayMs = access.refused(error);
      if (delayMs === undefined) {
        delayMs = this.reopenDelayMs;
        this.reopenDelayMs = Math.min(this.reopenDelayMs * 2, MAX_REOPEN_DELAY_MS);
        this.log.error({ retryInMs: delayMs }, 'subscription stream closed unexpectedly; reopening');
      }
      this.reopenTimer = setTimeout(() => {
        this.reopenTimer = undefined;
        if (this.draining) return;
        access.attempting();
        subscription.open();
      }, delayMs);
    });
    // Adding the 'message' listener opened the stream.
    access.attempting();
    this.subscription = subscription;
    this.subscriptionPath = subscription.name;
  }

  /** Flow control by count only: maxBytes is not known before a Pull returns. */
  private async startUnary(name: string): Promise<void> {
    const { pubsub, consumer } = this.options;
    this.puller = new UnaryPuller({
      pubsub,
      subscription: name,
      maxInFlight: consumer.flowControl.maxMessages,
      leaseSeconds: consumer.ackDeadlineSeconds,
      log: this.log,
      onMessage: (message) => this.onMessage(message),
      access: this.access,
    });
    await this.puller.start({ paused: this.pausedNow });
    this.subscriptionPath = this.puller.path;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /**
   * Stops intake until resume() and resolves once what was pulled is settled (at most an ack deadline
   * for StreamingPull, whose stream is then closed). Nothing is failed or nacked because of the pause
   * (unary), so no delivery attempt is spent.
   */
  pause(): Promise<void> {
    if (this.pausedNow || this.draining) return this.pausing ?? Promise.resolve();
    this.pausedNow = true;
    // Before start(): start() opens without pulling.
    if (!this.puller && !this.subscription) return Promise.resolve();
    this.pausing = (async () => {
      if (this.puller) return this.puller.stopPulling();
      await this.work.drained(this.consumer.ackDeadlineSeconds * 1000);
      if (this.pausedNow && !this.draining) await this.subscription?.close();
    })();
    return this.pausing;
  }

  /** Pulls again after pause(). */
  async resume(): Promise<void> {
    if (!this.pausedNow) return;
    await this.pausing;
    this.pausedNow = false;
    this.pausing = undefined;
    if (this.draining) return;
    if (this.puller) return this.puller.resumePulling();
    this.access?.attempting();
    this.subscription?.open();
  }

  /**
   * Stops intake: unary sends no more Pulls (the last one's messages still run); StreamingPull keeps
   * its stream until close(), and what arrives on it from now on is left for close() to nack.
   * Messages already here, queued behind their ordering key included, still run.
   */
  beginDrain(): void {
    this.draining = true;
    this.lastPull ??= this.puller?.stopPulling();
  }

  /**
   * Resolves true once every message handed to us is settled, false if timeoutMs passes first. With
   * unary Pull that includes what the last Pull (on GCP held open until messages come) brings
   * after beginDrain(): counting only the work already here, an idle consumer was "drained" at once,
   * and the messages that Pull brought a moment later were sent back unstarted by close().
   */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (this.lastPull && !(await settledWithin(this.lastPull, timeoutMs))) return false;
    return this.work.drained(deadline - Date.now());
  }

  /** Closes the stream: nacks messages never handed out or not started, flushes pending acks and nacks. */
  async close(): Promise<void> {
    this.draining = true;
    this.closing = true;
    clearTimeout(this.reopenTimer);
    this.access?.close();
    if (this.closed) return;
    this.closed = true;
    if (this.puller) return this.puller.close();
    if (!this.subscription) return;
    await this.subscription.close();
    this.subscription.removeAllListeners('message');
  }

  private onMessage(message: Delivery): void {
    // Left unsettled: close() sends it back. (A unary Pull's messages are bounded by flow control, so they all run.)
    if (this.closing || ((this.draining || this.pausedNow) && !this.puller)) return;
    this.reopenDelayMs = MIN_REOPEN_DELAY_MS;
    const key = this.consumer.ordering ? message.incoming.orderingKey : undefined;
    if (key) void this.work.track(this.keys.run(key, () => this.handleOrdered(message, key)));
    else void this.work.track(this.handle(message));
  }

  private async handle(message: Delivery): Promise<void> {
    const outcome = await this.options.pipeline(message.incoming, this.subscriptionPath);
    this.settle(message, outcome);
  }

  private async handleOrdered(message: Delivery, key: string): Promise<void> {
    if (this.closing) return;
    const { messageId, deliveryAttempt } = message.incoming;
    const lastAttempt = isLastAttempt(this.consumer, deliveryAttempt);
    if (!this.order.turn(key, messageId, !lastAttempt).run) {
      this.settle(message, 'retry');
      return;
    }
    const outcome = await this.options.pipeline(message.incoming, this.subscriptionPath);
    const comesBack = outcome === 'retry' && !lastAttempt;
    this.order.ran(key, messageId, comesBack ? this.consumer.retry.maxBackoffSeconds * 1000 : undefined);
    this.settle(message, outcome);
  }

  /** Not awaited by the ordered queue: ack batching would otherwise cap a key at ~10 messages/s. */
  private settle(message: Delivery, outcome: Outcome): void {
    if (!this.consumer.exactlyOnce) {
      if (outcome === 'retry') message.nack();
      else message.ack();
      return;
    }
    const op = outcome === 'retry' ? message.nackWithResponse() : message.ackWithResponse();
    op.catch((error: Error & { errorCode?: string }) => {
      // The message comes back and the handler's dedup makes the redelivery a 'duplicate'.
      this.log.warn(
        { messageId: message.incoming.messageId, outcome, code: error.errorCode, error: error.message },
        `exactly-once ${outcome === 'retry' ? 'nack' : 'ack'} failed; Pub/Sub will redeliver`,
      );
    });
  }
}

/** Whether `work` settles within timeoutMs. */
async function settledWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs))));
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The pulls of one consumer: its own subscription, and its private redrive subscription (replays and
 * `mesh dead-letters --redrive` publish there; one stream is plenty for that trickle). A push
 * consumer's redrive subscription pushes to the same endpoint instead.
 */
export function pullsOf(options: Omit<PullConsumerOptions, 'subscription'>): PullConsumer[] {
  return [new PullConsumer(options), new PullConsumer({ ...options, subscription: consumerResources(options.consumer).redriveSubscription, maxStreams: 1 })];
}

/** A canary instance's pull: the canary's own subscription only (shared/canary). */
export function canaryPullsOf(options: Omit<PullConsumerOptions, 'subscription'>): PullConsumer[] {
  return [new PullConsumer({ ...options, subscription: consumerResources(options.consumer).canarySubscription })];
}

/**
 * Stops the pulls' intake and waits, at most timeoutMs, until they have settled what they pulled and
 * `handlers` has nothing running. Resolves false on timeout.
 */
export async function drainPulls(pulls: PullConsumer[], timeoutMs: number, handlers?: InFlight): Promise<boolean> {
  for (const pull of pulls) pull.beginDrain();
  const waits = pulls.map((p) => p.drained(timeoutMs));
  if (handlers) waits.push(handlers.drained(timeoutMs));
  return (await Promise.all(waits)).every(Boolean);
}
