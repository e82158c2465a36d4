/**
 * Pull delivery: a StreamingPull subscriber per consumer, with the spec's flow control, ack on
 * done/duplicate/dead-lettered and nack on transient failure; `ackWithResponse` when the
 * subscription has exactly-once delivery, so a lost ack is seen (and logged) rather than assumed.
 *
 * Ordering: the Node client emits one key's messages in order but does not wait for an async
 * handler, so with `ordering: true` this runs one message per ordering key at a time. When one
 * fails transiently, Pub/Sub will redeliver it and everything after it on that key; the messages
 * already here behind it are nacked unprocessed until it comes back, so the handler never sees a
 * key out of order because of our own retries.
 */
import { Duration, SubscriptionCloseBehaviors, type Message, type PubSub, type Subscription } from '@google-cloud/pubsub';
import type { IncomingMessage } from '../envelope';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { ConsumerConfigError } from './errors';
import type { Logger } from './logger';
import type { Pipeline } from './pipeline';
import type { Outcome } from './types';

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
}

export class PullConsumer {
  readonly consumer: ConsumerSpec;
  private subscription?: Subscription;
  private draining = false;
  private closed = false;
  private readonly keys = new KeyedQueue();
  /** ordering key -> the failed message it waits for (and until when at most). */
  private readonly blocked = new Map<string, { messageId: string; until: number }>();
  private readonly log: Logger;
  private reopenTimer?: NodeJS.Timeout;
  private reopenDelayMs = MIN_REOPEN_DELAY_MS;

  constructor(private readonly options: PullConsumerOptions) {
    this.consumer = options.consumer;
    this.log = options.log.child({ consumer: options.consumer.name, delivery: 'pull' });
  }

  /** Open and receiving (the stream has not failed and we are not shutting down). */
  get ready(): boolean {
    return Boolean(this.subscription?.isOpen) && !this.draining;
  }

  async start(): Promise<void> {
    const { pubsub, consumer } = this.options;
    const name = this.options.subscription ?? consumerResources(consumer).subscription;
    const subscription = pubsub.subscription(name, {
      flowControl: { maxMessages: consumer.flowControl.maxMessages, maxBytes: consumer.flowControl.maxBytes, allowExcessMessages: false },
      closeOptions: { behavior: SubscriptionCloseBehaviors.NackImmediately, timeout: Duration.from({ milliseconds: this.options.closeTimeoutMs ?? 3000 }) },
      ...(this.options.maxStreams ? { streamingOptions: { maxStreams: this.options.maxStreams } } : {}),
    });
    try {
      await subscription.getMetadata();
    } catch (error) {
      throw new ConsumerConfigError(`consumer ${consumer.name}: cannot open subscription ${name}: ${(error as Error).message} (run \`mesh apply\` first?)`, { cause: error });
    }
    subscription.on('message', (message: Message) => this.onMessage(message));
    subscription.on('error', (error: Error) => this.log.error({ err: error }, 'subscription stream error'));
    subscription.on('close', () => {
      if (this.draining) return;
      // The client gives up on non-retryable stream errors (and the emulator ends ordered streams
      // with UNKNOWN): reopen with backoff; /readyz fails meanwhile.
      this.log.error({ retryInMs: this.reopenDelayMs }, 'subscription stream closed unexpectedly; reopening');
      this.reopenTimer = setTimeout(() => {
        this.reopenTimer = undefined;
        if (!this.draining) subscription.open();
      }, this.reopenDelayMs);
      this.reopenDelayMs = Math.min(this.reopenDelayMs * 2, MAX_REOPEN_DELAY_MS);
    });
    this.subscription = subscription;
    this.log.info({ subscription: subscription.name, flowControl: consumer.flowControl, exactlyOnce: consumer.exactlyOnce, ordering: consumer.ordering }, 'pull consumer started');
  }

  /** Stop handing new messages to the handler; what arrives from now on is nacked by close(). */
  beginDrain(): void {
    this.draining = true;
  }

  /** Closes the stream: nacks messages never handed out, flushes pending acks and nacks. */
  async close(): Promise<void> {
    this.draining = true;
    clearTimeout(this.reopenTimer);
    if (this.closed || !this.subscription) return;
    this.closed = true;
    await this.subscription.close();
    this.subscription.removeAllListeners('message');
  }

  private onMessage(message: Message): void {
    if (this.draining) return; // left in the client's inventory: close() nacks it
    this.reopenDelayMs = MIN_REOPEN_DELAY_MS;
    const key = this.consumer.ordering ? message.orderingKey : undefined;
    if (key) this.keys.run(key, () => this.handleOrdered(message, key));
    else void this.handle(message);
  }

  private async handle(message: Message): Promise<void> {
    const outcome = await this.options.pipeline(toIncoming(message), this.subscription!.name);
    this.settle(message, outcome);
  }

  private async handleOrdered(message: Message, key: string): Promise<void> {
    if (this.draining) return;
    const block = this.blocked.get(key);
    if (block) {
      if (message.id === block.messageId || Date.now() > block.until) this.blocked.delete(key);
      else {
        this.settle(message, 'retry');
        return;
      }
    }
    const outcome = await this.options.pipeline(toIncoming(message), this.subscription!.name);
    // After its last attempt Pub/Sub dead-letters the failed message instead of redelivering it.
    const lastAttempt = message.deliveryAttempt > 0 && message.deliveryAttempt >= this.consumer.deadLetter.maxAttempts;
    if (outcome === 'retry' && !lastAttempt) {
      const windowMs = (this.consumer.retry.maxBackoffSeconds + this.consumer.ackDeadlineSeconds) * 1000;
      this.blocked.set(key, { messageId: message.id, until: Date.now() + windowMs });
    }
    this.settle(message, outcome);
  }

  /** Not awaited by the ordered queue: ack batching would otherwise cap a key at ~10 messages/s. */
  private settle(message: Message, outcome: Outcome): void {
    if (!this.consumer.exactlyOnce) {
      if (outcome === 'retry') message.nack();
      else message.ack();
      return;
    }
    const op = outcome === 'retry' ? message.nackWithResponse() : message.ackWithResponse();
    op.catch((error: Error & { errorCode?: string }) => {
      // The message comes back and the handler's dedup makes the redelivery a 'duplicate'.
      this.log.warn({ messageId: message.id, outcome, code: error.errorCode, error: error.message }, `exactly-once ${outcome === 'retry' ? 'nack' : 'ack'} failed; Pub/Sub will redeliver`);
    });
  }
}

function toIncoming(message: Message): IncomingMessage {
  return {
    data: message.data,
    attributes: message.attributes ?? {},
    messageId: message.id,
    publishTime: message.publishTime,
    orderingKey: message.orderingKey || undefined,
    deliveryAttempt: message.deliveryAttempt > 0 ? message.deliveryAttempt : undefined,
  };
}

/**
 * The pulls of one consumer: its own subscription, and its private redrive subscription (replays and
 * `mesh dead-letters --redrive` publish there; one stream is plenty for that trickle). A push
 * consumer's redrive subscription pushes to the same endpoint instead.
 */
export function pullsOf(options: Omit<PullConsumerOptions, 'subscription'>): PullConsumer[] {
  return [new PullConsumer(options), new PullConsumer({ ...options, subscription: consumerResources(options.consumer).redriveSubscription, maxStreams: 1 })];
}

/** Runs tasks one at a time per key, in arrival order; keys run in parallel. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch(() => undefined);
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}
