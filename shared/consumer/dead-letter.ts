/**
 * The poison fast path's sink: a message that can never succeed is published to its consumer's
 * dead-letter topic (consumerResources(c).deadLetterTopic) at once, data unchanged, with the
 * original attributes plus why it is there. Only after that publish succeeds is the original acked;
 * if the publish fails the original is nacked, so a message is never dropped.
 *
 * Messages Pub/Sub dead-letters itself (after maxAttempts) reach the same topic with Pub/Sub's own
 * `CloudPubSubDeadLetterSource*` attributes instead of `reason`.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { IncomingMessage } from '../envelope';
import { consumerResources } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { DeadLetterPublishError } from './errors';
import { isWellFormedText, printable } from '../envelope/well-formed';

/** The attributes deadLetterAttributes() adds to the original ones (a redrive removes them again). */
export const DEAD_LETTER_ATTRIBUTES = [
  'reason',
  'error',
  'consumer',
  'sourceSubscription',
  'messageId',
  'publishTime',
  'orderingKey',
  'deliveryAttempt',
] as const;
/** Prefix of the attributes Pub/Sub adds when its dead-letter policy forwards a message. */
export const PUBSUB_DEAD_LETTER_PREFIX = 'CloudPubSubDeadLetterSource';

/**
 * Dead-letter reasons that mean the event breaks its topic's contract: its data fails the topic's
 * schema (`schema`), or its type is not one the topic carries (`unknown-type`). Counted per hour by
 * the local health monitor and, in GCP, by a log-based metric (infra/schema-dead-letters.ts).
 */
export const SCHEMA_FAILURE_REASONS = ['schema', 'unknown-type'] as const;

/**
 * Why a dead letter is there, from its attributes: the runtime's reason code, `max-delivery-attempts`
 * when Pub/Sub's dead-letter policy forwarded it, else `unknown` (published there by hand).
 */
export function deadLetterReasonOf(attributes: Readonly<Record<string, string>> = {}): string {
  return attributes.reason ?? (attributes[`${PUBSUB_DEAD_LETTER_PREFIX}DeliveryCount`] ? 'max-delivery-attempts' : 'unknown');
}

/** Pub/Sub limits: 100 attributes per message, keys up to 256 bytes, values up to 1024 bytes. */
const MAX_ATTRIBUTES = 100;
const MAX_KEY_BYTES = 256;
const MAX_VALUE_BYTES = 1024;

/**
 * This delivery is the subscription's last: sent back, Pub/Sub dead-letters it instead of
 * redelivering it. False when the attempt is not known (the emulator's push).
 */
export function isLastAttempt(consumer: ConsumerSpec, deliveryAttempt: number | undefined): boolean {
  return deliveryAttempt !== undefined && deliveryAttempt > 0 && deliveryAttempt >= consumer.deadLetter.maxAttempts;
}

export interface DeadLetterInfo {
  /** Short code: not-json, missing-attribute, bad-attribute, unsupported-specversion, schema, unknown-type, handler ... */
  reason: string;
  /** Human-readable error message (truncated to 1024 bytes). */
  error: string;
  consumer: string;
  /** Subscription the message came from (full path when known). */
  sourceSubscription: string;
}

/** Where poison messages go. The runtime uses DeadLetterPublisher; tests and benches may pass their own. */
export interface DeadLetterSink {
  publish(message: IncomingMessage, info: DeadLetterInfo): Promise<string>;
  flush(): Promise<void>;
}

/**
 * Attributes of the dead-lettered copy: the original ones (except Pub/Sub's reserved `goog*` keys,
 * which describe the source topic's schema), then ours, which win on a clash.
 *
 * Every key and value is made publishable: a push body (JSON) can carry text Pub/Sub's API cannot
 * (attributes are protobuf strings, UTF-8 only), such as a lone UTF-16 surrogate; published as is,
 * the copy is refused (the emulator leaves it unanswered until the client gives up) and the poison
 * is retried as if transient. Such characters become U+FFFD; `error` names the original problem.
 */
export function deadLetterAttributes(message: IncomingMessage, info: DeadLetterInfo): Record<string, string> {
  const ours: Partial<Record<(typeof DEAD_LETTER_ATTRIBUTES)[number], string>> = {
    reason: publishable(info.reason, MAX_VALUE_BYTES),
    error: publishable(info.error, MAX_VALUE_BYTES),
    consumer: info.consumer,
    sourceSubscription: publishable(info.sourceSubscription, MAX_VALUE_BYTES),
    messageId: publishable(message.messageId, MAX_VALUE_BYTES),
  };
  if (message.publishTime && Number.isFinite(message.publishTime.getTime())) ours.publishTime = message.publishTime.toISOString();
  if (message.orderingKey) ours.orderingKey = publishable(message.orderingKey, MAX_VALUE_BYTES);
  if (message.deliveryAttempt) ours.deliveryAttempt = String(message.deliveryAttempt);
  const attributes: Record<string, string> = {};
  let room = MAX_ATTRIBUTES - Object.keys(ours).length;
  for (const [rawKey, value] of Object.entries(message.attributes ?? {})) {
    if (room <= 0) break;
    const key = publishable(rawKey, MAX_KEY_BYTES);
    if (!key || key.startsWith('goog') || key in ours || key in attributes) continue;
    attributes[key] = publishable(String(value), MAX_VALUE_BYTES);
    room--;
  }
  return Object.assign(attributes, ours);
}

/** `text` as Pub/Sub takes it: well-formed (lone surrogates as U+FFFD), at most `maxBytes` of UTF-8. */
function publishable(text: string, maxBytes: number): string {
  return truncateUtf8(isWellFormedText(text) ? text : printable(text, Infinity), maxBytes);
}

export interface DeadLetterPublisherOptions {
  pubsub: PubSub;
  consumer: Pick<ConsumerSpec, 'name'>;
  /** Publish batching delay. Default 5 ms: poison messages are rare and the ack waits for it. */
  maxMilliseconds?: number;
}

export class DeadLetterPublisher implements DeadLetterSink {
  readonly topicName: string;
  private readonly topic: Topic;

  constructor(options: DeadLetterPublisherOptions) {
    this.topicName = consumerResources(options.consumer).deadLetterTopic;
    this.topic = options.pubsub.topic(this.topicName, { batching: { maxMessages: 100, maxMilliseconds: options.maxMilliseconds ?? 5 } });
  }

  async publish(message: IncomingMessage, info: DeadLetterInfo): Promise<string> {
    try {
      return await this.topic.publishMessage({ data: message.data, attributes: deadLetterAttributes(message, info) });
    } catch (error) {
      throw new DeadLetterPublishError(this.topicName, message.messageId, { cause: error });
    }
  }

  async flush(): Promise<void> {
    await this.topic.flush();
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = Buffer.from(text)
    .subarray(0, maxBytes - 3)
    .toString('utf8');
  // A cut multi-byte character decodes as U+FFFD; drop it.
  out = out.replace(/\uFFFD$/, '');
  return `${out}...`;
}
