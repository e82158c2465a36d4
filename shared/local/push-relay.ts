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
 * - unary Pull for exactly the free slots, not StreamingPull: the emulator streams past the client's
 *   flow control, and messages waiting in the client longer than the ack deadline come back as
 *   duplicates (measured: 100 of 400 with a 300 ms handler and 10 in flight). What is not pulled
 *   waits in the emulator, as it does for GCP push;
 * - in flight: up to maxInFlight (the service's `concurrency`, Cloud Run's per-instance limit);
 * - ordering: one message per ordering key at a time; when one fails, the messages of its key
 *   already pulled are not posted and come back with it, as with GCP push on an ordered subscription;
 * - failure (non-2xx, no answer within the ack deadline, connection refused): the message's ack
 *   deadline is set to the spec's retry backoff for its attempt, min(minBackoff * 2^(attempt-1),
 *   maxBackoff), so the emulator redelivers it then (apply.ts leaves the emulator's own retry
 *   policies off); after maxAttempts the emulator dead-letters it.
 * The broker, its redelivery and its dead-lettering stay the emulator's; only the HTTP leg is ours.
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { google } from '@google-cloud/pubsub/build/protos/protos';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createLogger, KeyedQueue, wrapPushBody, type Logger } from '../consumer';
import type { IncomingMessage } from '../envelope';
import { consumerResources, pushPath } from '../spec/names';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { localPubSub } from './connect';
import { localServiceUrls } from './services';

/** Status codes Pub/Sub push takes as an ack. */
const ACK_STATUSES = new Set([102, 200, 201, 202, 204]);
/** A Pull waits this long for messages before it is asked again (close() waits at most this). */
const PULL_WAIT_MS = 2000;
/** Acks and deadline changes are sent in batches, at most this late. */
const SETTLE_BATCH_MS = 20;

type ReceivedMessage = google.pubsub.v1.IReceivedMessage;

export interface PushRelayOptions {
  pubsub: PubSub;
  consumer: ConsumerSpec;
  /** The subscription to relay (id): the consumer's own or its redrive subscription. */
  subscription: string;
  /** Full URL of the service's push path for this consumer. */
  endpoint: string;
  /** Requests in flight at most. Default the consumer's flow control maxMessages. */
  maxInFlight?: number;
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
export async function startLocalPushRelays(spec: MeshSpec, logFile: string): Promise<{ relays: PushRelay[]; stop: () => Promise<void> }> {
  const pubsub = localPubSub(spec);
  const log = createLogger({ service: 'push-relay', destination: pino.destination({ dest: logFile, mkdir: true }) });
  const urls = localServiceUrls(spec);
  const relays = Object.values(spec.consumers)
    .filter((c) => c.delivery === 'push')
    .flatMap((consumer) => {
      const names = consumerResources(consumer);
      const endpoint = `${urls[consumer.service!]}${pushPath(consumer.name)}`;
      const maxInFlight = spec.services[consumer.service!].concurrency;
      return [names.subscription, names.redriveSubscription].map((subscription) => new PushRelay({ pubsub, consumer, subscription, endpoint, maxInFlight, log }));
    });
  const stop = async () => {
    await Promise.all(relays.map((r) => r.close()));
    await pubsub.close();
  };
  try {
    await Promise.all(relays.map((r) => r.start()));
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { relays, stop };
}

export class PushRelay {
  readonly stats: PushRelayStats = { posted: 0, acked: 0, nacked: 0, maxInFlight: 0 };
  private readonly maxInFlight: number;
  private readonly keys = new KeyedQueue();
  /** ordering key -> the failed message it waits for, and when that one comes back. */
  private readonly blocked = new Map<string, { messageId: string; until: number }>();
  private inFlight = 0;
  private slotFreed?: () => void;
  private running?: Promise<void>;
  private closed = false;
  private subscriptionPath = '';
  private readonly acks = new Set<string>();
  /** deadline seconds -> ack ids. */
  private readonly deadlines = new Map<number, string[]>();
  private settleTimer?: NodeJS.Timeout;

  get consumer(): ConsumerSpec {
    return this.options.consumer;
  }

  constructor(private readonly options: PushRelayOptions) {
    this.maxInFlight = options.maxInFlight ?? options.consumer.flowControl.maxMessages;
  }

  async start(): Promise<void> {
    const projectId = (await this.options.pubsub.getClientConfig()).projectId;
    this.subscriptionPath = `projects/${projectId}/subscriptions/${this.options.subscription}`;
    this.running = this.loop();
  }

  /** Stops pulling, waits for the posts in flight and sends their acks. Unposted messages come back after their deadline. */
  async close(): Promise<void> {
    this.closed = true;
    this.slotFreed?.();
    await this.running;
    // Queued ordered messages count as in flight too.
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.slotFreed = resolve));
    await this.flushSettles();
  }

  private async loop(): Promise<void> {
    let idleMs = 0;
    while (!this.closed) {
      if (this.inFlight >= this.maxInFlight) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let received: ReceivedMessage[];
      try {
        received = await this.pull(this.maxInFlight - this.inFlight);
        idleMs = 0;
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code !== 4) {
          // 4 = DEADLINE_EXCEEDED: nothing arrived while the Pull waited. Anything else: back off.
          idleMs = Math.min(Math.max(idleMs * 2, 200), 5000);
          this.options.log.warn({ err: error, retryInMs: idleMs }, 'push relay: pull failed');
          await sleep(idleMs);
        }
        continue;
      }
      for (const r of received) this.dispatch(r);
      // The emulator holds an empty Pull open until messages come; should one return empty at once, do not spin.
      if (!received.length) await sleep(50);
    }
  }

  private async pull(maxMessages: number): Promise<ReceivedMessage[]> {
    const response = await this.call<google.pubsub.v1.IPullResponse>('pull', { subscription: this.subscriptionPath, maxMessages }, { timeout: PULL_WAIT_MS, retry: null });
    return response?.receivedMessages ?? [];
  }

  private dispatch(received: ReceivedMessage): void {
    const message = toIncoming(received);
    const ackId = received.ackId!;
    const key = this.options.consumer.ordering ? message.orderingKey : undefined;
    this.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    const task = async () => {
      try {
        if (key && this.heldBack(key, message, ackId)) return;
        const ok = await this.post(message);
        if (ok) return this.ack(ackId);
        const backoffMs = this.backoffMs(message.deliveryAttempt ?? 1);
        if (key) this.blocked.set(key, { messageId: message.messageId, until: Date.now() + backoffMs });
        this.nack(ackId, backoffMs);
      } finally {
        this.inFlight--;
        const wake = this.slotFreed;
        this.slotFreed = undefined;
        wake?.();
      }
    };
    if (key) void this.keys.run(key, task);
    else void task();
  }

  /**
   * True (and the message sent back, to come after the failed one) while its key waits for a failed
   * message; the wait ends when that message is back, or an ack deadline after it was due (it may
   * have been dead-lettered instead).
   */
  private heldBack(key: string, message: IncomingMessage, ackId: string): boolean {
    const block = this.blocked.get(key);
    if (!block) return false;
    if (message.messageId === block.messageId || Date.now() > block.until + this.options.consumer.ackDeadlineSeconds * 1000) {
      this.blocked.delete(key);
      return false;
    }
    this.nack(ackId, Math.max(0, block.until - Date.now()));
    return true;
  }

  private async post(message: IncomingMessage): Promise<boolean> {
    this.stats.posted++;
    let failure: string | undefined;
    try {
      const response = await fetch(this.options.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: wrapPushBody(message, this.subscriptionPath),
        signal: AbortSignal.timeout(this.options.consumer.ackDeadlineSeconds * 1000),
      });
      await response.arrayBuffer(); // drained, the connection goes back to the pool
      if (!ACK_STATUSES.has(response.status)) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = (error as Error).message;
    }
    if (failure) this.options.log.warn({ consumer: this.options.consumer.name, messageId: message.messageId, deliveryAttempt: message.deliveryAttempt, failure }, 'push relay: delivery failed');
    return !failure;
  }

  private backoffMs(attempt: number): number {
    const { minBackoffSeconds, maxBackoffSeconds } = this.options.consumer.retry;
    return Math.min(minBackoffSeconds * 2 ** (attempt - 1), maxBackoffSeconds) * 1000;
  }

  private ack(ackId: string): void {
    this.stats.acked++;
    this.acks.add(ackId);
    this.scheduleSettles();
  }

  /** Redelivery after `delayMs` (an ack deadline, whole seconds, at most Pub/Sub's 600). */
  private nack(ackId: string, delayMs: number): void {
    this.stats.nacked++;
    const seconds = Math.min(600, Math.ceil(delayMs / 1000));
    const list = this.deadlines.get(seconds) ?? [];
    list.push(ackId);
    this.deadlines.set(seconds, list);
    this.scheduleSettles();
  }

  private scheduleSettles(): void {
    this.settleTimer ??= setTimeout(() => void this.flushSettles(), SETTLE_BATCH_MS);
  }

  private async flushSettles(): Promise<void> {
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    const ackIds = [...this.acks];
    this.acks.clear();
    const deadlines = [...this.deadlines];
    this.deadlines.clear();
    const calls: Promise<unknown>[] = [];
    if (ackIds.length) calls.push(this.call('acknowledge', { subscription: this.subscriptionPath, ackIds }));
    for (const [ackDeadlineSeconds, ids] of deadlines) calls.push(this.call('modifyAckDeadline', { subscription: this.subscriptionPath, ackIds: ids, ackDeadlineSeconds }));
    const results = await Promise.allSettled(calls);
    for (const r of results) if (r.status === 'rejected') this.options.log.warn({ err: r.reason }, 'push relay: ack or deadline change failed; Pub/Sub will redeliver');
  }

  /** A unary call on the client's own subscriber connection (the emulator endpoint, no credentials). */
  private call<T>(method: string, reqOpts: object, gaxOpts: object = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (this.options.pubsub as unknown as { request: (config: object, callback: (error: Error | null, response: T) => void) => void }).request(
        { client: 'SubscriberClient', method, reqOpts, gaxOpts },
        (error, response) => (error ? reject(error) : resolve(response)),
      );
    });
  }
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
