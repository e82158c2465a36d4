/**
 * Push, locally, the way GCP pushes. The Pub/Sub emulator's own push keeps only two requests in
 * flight per subscription (a push consumer takes tens of events/s), and its wrapped body has no
 * `deliveryAttempt` and no `orderingKey`. With the relay, `mesh up` creates a push consumer's
 * subscriptions without a push endpoint (same ack deadline, dead-letter policy and ordering) and
 * this relay pulls them and POSTs each message to the service's push path in GCP's wrapped form:
 *
 *   emulator subscription --Pull (only as many as it can post)--> relay --POST wrapped body--> service
 *                         <--Acknowledge on 102/200/201/202/204, else ModifyAckDeadline(backoff)--
 *
 * - unary Pull for exactly the free slots (UnaryPuller, shared with pull consumers on the emulator),
 *   not StreamingPull: the emulator streams past the client's flow control, and messages waiting in
 *   the client longer than the ack deadline come back as duplicates (measured: 100 of 400 with a
 *   300 ms handler and 10 in flight). What is not pulled waits in the emulator, as for GCP push;
 * - in flight: up to maxInFlight (the service's `concurrency`, Cloud Run's per-instance limit);
 * - ordering: one message per ordering key at a time; when one fails, the messages of its key
 *   already pulled are not posted and come back with it, as with GCP push on an ordered subscription,
 *   and are posted in the order they first came (KeyOrder: the emulator redelivers them out of order);
 * - no instance: while nothing listens on the service's port (it is restarting) the request waits,
 *   as Cloud Run holds a request pending while an instance starts: up to 3.5 times the service's
 *   average start-up time or 10 s, whichever is longer, then fails like Cloud Run's 429
 *   (cloud.google.com/run/docs/about-instance-autoscaling, "Exceeding maximum instances"). Without
 *   it every message in flight burnt a delivery attempt per restart: the fault suite's 20 restarts
 *   of the dashboard dead-lettered 3,099 valid events (maxAttempts 5) that Cloud Run would have held;
 * - failure (non-2xx, no answer within the ack deadline, pending too long): the message's ack
 *   deadline is set to the spec's retry backoff for its attempt, min(minBackoff * 2^(attempt-1),
 *   maxBackoff), so the emulator redelivers it then (apply.ts leaves the emulator's own retry
 *   policies off); after maxAttempts the emulator dead-letters it.
 * The broker, its redelivery and its dead-lettering stay the emulator's; only the HTTP leg is ours.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createLogger, followControls, isLastAttempt, KeyedQueue, KeyOrder, UnaryPuller, wrapPushBody, type Logger, type PulledMessage } from '../consumer';
import type { IncomingMessage } from '../envelope';
import { consumerResources, pushPath } from '../spec/names';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { firestoreAtHost } from '../emulators/firestore';
import { ControlWatcher } from '../operations/controls';
import { localFirestore, localPubSub } from './connect';
import { JsonPoster } from './http-post';
import { localServiceUrls } from './services';

/** Status codes Pub/Sub push takes as an ack. */
const ACK_STATUSES = new Set([102, 200, 201, 202, 204]);

export interface PushRelayOptions {
  pubsub: PubSub;
  consumer: ConsumerSpec;
  /** The subscription to relay (id): the consumer's own or its redrive subscription. */
  subscription: string;
  /** Full URL of the service's push path for this consumer. */
  endpoint: string;
  /** Requests in flight at most. Default the consumer's flow control maxMessages. */
  maxInFlight?: number;
  /** The service's instance availability, shared by all relays posting to it. Default one of its own. */
  availability?: InstanceAvailability;
  log: Logger;
}

export interface PushRelayStats {
  posted: number;
  acked: number;
  nacked: number;
  maxInFlight: number;
}

/**
 * `mesh up`'s relays: one per push consumer subscription (its own and its redrive one), to the
 * service's local URL whether or not `mesh up` started the service (with --no-services the
 * developer runs it by hand on its localPort), up to the service's concurrency in flight.
 */
export async function startLocalPushRelays(
  spec: MeshSpec,
  logFile: string,
  options: { firestoreHost?: string } = {},
): Promise<{ relays: PushRelay[]; stop: () => Promise<void> }> {
  const pubsub = localPubSub(spec);
  const log = createLogger({ service: 'push-relay', destination: pino.destination({ dest: logFile, mkdir: true }) });
  // The consumers' controls, in the mesh's own Firestore (the one its services read).
  const controlsDb = options.firestoreHost ? firestoreAtHost(options.firestoreHost, spec.project) : localFirestore(spec);
  const controls = new ControlWatcher({ db: controlsDb, log });
  const urls = localServiceUrls(spec);
  const availability = new Map<string, InstanceAvailability>();
  const availabilityOf = (service: string) => availability.get(service) ?? availability.set(service, new InstanceAvailability()).get(service)!;
  const relays = Object.values(spec.consumers)
    .filter((c) => c.delivery === 'push')
    .flatMap((consumer) => {
      const names = consumerResources(consumer);
      const endpoint = `${urls[consumer.service!]}${pushPath(consumer.name)}`;
      const maxInFlight = spec.services[consumer.service!].concurrency;
      return [names.subscription, names.redriveSubscription].map(
        (subscription) => new PushRelay({ pubsub, consumer, subscription, endpoint, maxInFlight, log, availability: availabilityOf(consumer.service!) }),
      );
    });
  // What each relay did in the last minute, in its log: a relay that stops delivering shows as
  // pulls no longer answered, or slots all taken while nothing is posted.
  const progress = setInterval(() => {
    for (const relay of relays) log.info({ subscription: relay.subscription, ...relay.progress() }, 'push relay: progress');
  }, 60_000);
  progress.unref();
  const stop = async () => {
    clearInterval(progress);
    controls.close();
    await controlsDb.terminate().catch(() => undefined);
    await Promise.all(relays.map((r) => r.close()));
    await pubsub.close();
  };
  // A paused consumer (`mesh pause`, shared/operations/controls.ts) gets nothing relayed.
  const paused = new Set<string>();
  await followControls(controls, [...new Set(relays.map((r) => r.consumer.name))], (consumer, isPaused) => {
    if (isPaused) paused.add(consumer);
    else paused.delete(consumer);
    for (const relay of relays.filter((r) => r.consumer.name === consumer && r.started)) void (isPaused ? relay.pause() : relay.resume());
  });
  try {
    await Promise.all(relays.map((r) => r.start(paused.has(r.consumer.name))));
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { relays, stop };
}

/** Messages whose failures a relay remembers (answeredFailures()). */
const MAX_FAILURES_KEPT = 100_000;

/** How often a pending request tries the service's port again. */
const PENDING_RETRY_MS = 250;

/** Whether the POST failed because nothing listens on the port (the service is down or restarting). */
function connectionRefused(error: unknown): boolean {
  return (error as { code?: string }).code === 'ECONNREFUSED';
}

/**
 * Whether the service has an instance listening, and how long it takes to get one back: a request
 * finding none waits up to 3.5 times the average start-up (refused until listening again, the last
 * few) or 10 s, whichever is longer, as Cloud Run holds a request pending.
 */
export class InstanceAvailability {
  private downSince?: number;
  private readonly startups: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  refused(): void {
    this.downSince ??= this.now();
  }

  listening(): void {
    if (this.downSince === undefined) return;
    this.startups.push(this.now() - this.downSince);
    if (this.startups.length > 5) this.startups.shift();
    this.downSince = undefined;
  }

  pendingWindowMs(): number {
    const average = this.startups.length ? this.startups.reduce((a, b) => a + b, 0) / this.startups.length : 0;
    return Math.max(10_000, 3.5 * average);
  }
}

export class PushRelay {
  readonly stats: PushRelayStats = { posted: 0, acked: 0, nacked: 0, maxInFlight: 0 };
  /** Shared by the relays of one service (startLocalPushRelays); its own otherwise. */
  private readonly instance: InstanceAvailability;
  /** message id -> failed deliveries the service answered (answeredFailures()). */
  private readonly failures = new Map<string, number>();
  private readonly puller: UnaryPuller;
  private readonly poster: JsonPoster;
  private readonly keys = new KeyedQueue();
  /** Each key's order across retries (a failed message's key waits for it; see ordering.ts). */
  private readonly order: KeyOrder;
  /** Posts (and ordered messages queued behind one) not finished yet. */
  private running = 0;
  private idle?: () => void;
  private pausedNow = false;
  private startedNow = false;

  get consumer(): ConsumerSpec {
    return this.options.consumer;
  }

  get subscription(): string {
    return this.options.subscription;
  }

  /** Counters so far, messages out now, and how long ago a Pull last answered. */
  progress(): PushRelayStats & { inFlight: number; pulls: number; lastPullAgoMs?: number } {
    const pulls = this.puller.pullsAnswered;
    return {
      ...this.stats,
      inFlight: this.puller.inFlight,
      pulls: pulls.count,
      lastPullAgoMs: pulls.lastAt === undefined ? undefined : Date.now() - pulls.lastAt,
    };
  }

  constructor(private readonly options: PushRelayOptions) {
    this.instance = options.availability ?? new InstanceAvailability();
    // A failed message is due back after its backoff; wait an ack deadline more (it may have been dead-lettered).
    this.order = new KeyOrder({ waitMs: options.consumer.ackDeadlineSeconds * 1000 });
    const maxInFlight = options.maxInFlight ?? options.consumer.flowControl.maxMessages;
    this.poster = new JsonPoster(options.endpoint, { maxSockets: maxInFlight, timeoutMs: options.consumer.ackDeadlineSeconds * 1000 });
    this.puller = new UnaryPuller({
      pubsub: options.pubsub,
      subscription: options.subscription,
      maxInFlight,
      leaseSeconds: options.consumer.ackDeadlineSeconds,
      log: options.log,
      onMessage: (message) => this.dispatch(message),
    });
  }

  /** Opens the subscription and starts relaying; `paused`: opens only (resume() relays). */
  start(paused = false): Promise<void> {
    this.pausedNow = paused;
    this.startedNow = true;
    return this.puller.start({ paused });
  }

  get started(): boolean {
    return this.startedNow;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** The consumer is paused (`mesh pause`): no more Pulls; posts in flight finish and are settled. */
  async pause(): Promise<void> {
    this.pausedNow = true;
    await this.puller.stopPulling();
  }

  resume(): void {
    this.pausedNow = false;
    this.puller.resumePulling();
  }

  /** Stops pulling, waits for the posts in flight and sends their acks. */
  async close(): Promise<void> {
    await this.puller.stopPulling();
    while (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.puller.close();
    this.poster.close();
  }

  private dispatch(pulled: PulledMessage): void {
    const message = pulled.incoming;
    const key = this.options.consumer.ordering ? message.orderingKey : undefined;
    this.running++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.puller.inFlight);
    const task = async () => {
      try {
        if (key && this.heldBack(key, pulled)) return;
        if (await this.post(message)) {
          if (key) this.order.ran(key, message.messageId);
          this.stats.acked++;
          return pulled.ack();
        }
        const backoffMs = this.backoffMs(message.deliveryAttempt ?? 1);
        // After its last attempt the emulator dead-letters it: the key does not wait for it.
        if (key) this.order.ran(key, message.messageId, isLastAttempt(this.options.consumer, message.deliveryAttempt) ? undefined : backoffMs);
        this.nack(pulled, backoffMs);
      } finally {
        if (--this.running === 0) this.idle?.();
      }
    };
    if (key) void this.keys.run(key, task);
    else void task();
  }

  /** True (and the message sent back, to come after the one its key waits for) when it is not its key's turn. */
  private heldBack(key: string, pulled: PulledMessage): boolean {
    const { messageId, deliveryAttempt } = pulled.incoming;
    const turn = this.order.turn(key, messageId, !isLastAttempt(this.options.consumer, deliveryAttempt));
    if (turn.run) return false;
    this.nack(pulled, turn.dueInMs);
    return true;
  }

  /** Redelivery after `delayMs` (an ack deadline, whole seconds, at most Pub/Sub's 600). */
  private nack(pulled: PulledMessage, delayMs: number): void {
    this.stats.nacked++;
    pulled.nack(delayMs);
  }

  /**
   * How many failed deliveries of this message the service answered (an HTTP status other than an
   * ack), or 0 when every failure was a dead connection (the service killed under it): the fault
   * suite tells a message retried as transient from one its service died under. The last 100 000.
   */
  answeredFailures(messageId: string): number | undefined {
    return this.failures.get(messageId);
  }

  private noteFailure(messageId: string, answered: boolean): void {
    const count = (this.failures.get(messageId) ?? 0) + (answered ? 1 : 0);
    this.failures.delete(messageId);
    this.failures.set(messageId, count);
    if (this.failures.size > MAX_FAILURES_KEPT) this.failures.delete(this.failures.keys().next().value!);
  }

  private async post(message: IncomingMessage): Promise<boolean> {
    this.stats.posted++;
    let failure: string | undefined;
    const body = wrapPushBody(message, this.puller.path);
    let refusedSince: number | undefined;
    for (;;) {
      try {
        const status = await this.poster.post(body);
        this.instance.listening();
        if (!ACK_STATUSES.has(status)) {
          failure = `HTTP ${status}`;
          this.noteFailure(message.messageId, true);
        }
      } catch (error) {
        if (connectionRefused(error)) {
          this.instance.refused();
          refusedSince ??= Date.now();
          const waitedMs = Date.now() - refusedSince;
          if (waitedMs < this.instance.pendingWindowMs()) {
            await sleep(PENDING_RETRY_MS);
            continue;
          }
          failure = `no instance listening after ${Math.round(waitedMs / 1000)} s pending (Cloud Run would answer 429)`;
        } else failure = (error as Error).message;
        this.noteFailure(message.messageId, false);
      }
      break;
    }
    if (failure)
      this.options.log.warn(
        { consumer: this.options.consumer.name, messageId: message.messageId, deliveryAttempt: message.deliveryAttempt, failure },
        'push relay: delivery failed',
      );
    return !failure;
  }

  private backoffMs(attempt: number): number {
    const { minBackoffSeconds, maxBackoffSeconds } = this.options.consumer.retry;
    return Math.min(minBackoffSeconds * 2 ** (attempt - 1), maxBackoffSeconds) * 1000;
  }
}
