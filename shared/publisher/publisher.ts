/**
 * MeshPublisher: the one way our own producers publish. It builds the CloudEvents envelope
 * (ce-dataschema naming topic and revision, a W3C traceparent per event, the producer's extension
 * attributes), validates the payload against the topic's schema revision before sending (errors name
 * the field), derives the ordering key from the spec and lets the client batch.
 *
 * Flow control: at most `flowControl.maxOutstandingMessages` messages (and maxOutstandingBytes
 * bytes) per topic are handed to Pub/Sub and not yet answered. When Pub/Sub slows down, a producer
 * publishing faster than it answers is made to wait (or refused, `limitExceededBehavior: 'error'`)
 * instead of buffering without bound in memory (flow-control.ts: why not the client's own).
 *
 * Re-publishing with the same `id` is safe: every consumer deduplicates on the event id.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { MeshSpec } from '../spec/types';
import {
  createEvent,
  currentOrNewTraceparent,
  dataProblem,
  eventTimeProblem,
  extensionsProblem,
  isWellFormedText,
  parseRfc3339,
  toPubsubMessage,
  traceparentProblem,
  tracestateProblem,
  type EventTimeBounds,
  type MeshEvent,
} from '../envelope';
import { SchemaValidationError, topicSchemas } from '../schemas';
import { EventRejectedError, PublishFailedError, PublisherFlowControlError } from './errors';
import { PublishFlow } from './flow-control';
import { bucketAttribute } from '../canary/routing';

export interface BatchingOptions {
  /** Default 100 (the client's default; Pub/Sub allows 1,000 per request). */
  maxMessages?: number;
  /** Default 1 MiB. */
  maxBytes?: number;
  /** Default 10 ms. */
  maxMilliseconds?: number;
}

export interface PublisherFlowControl {
  /** Messages per topic handed to Pub/Sub and not answered yet. Default 10,000. */
  maxOutstandingMessages?: number;
  /** Their bytes (data, attributes, ordering key). Default 100 MiB. */
  maxOutstandingBytes?: number;
  /** At a limit: 'block' (default) makes publish() wait for room; 'error' rejects it with PublisherFlowControlError. */
  limitExceededBehavior?: 'block' | 'error';
}

export const DEFAULT_PUBLISHER_FLOW_CONTROL: Required<PublisherFlowControl> = {
  maxOutstandingMessages: 10_000,
  maxOutstandingBytes: 100 * 1024 * 1024,
  limitExceededBehavior: 'block',
};

export interface MeshPublisherOptions {
  pubsub: PubSub;
  spec: MeshSpec;
  /** ce-source for every event, a URI reference such as //checkout/api. */
  source: string;
  batching?: BatchingOptions;
  /** Defaults: DEFAULT_PUBLISHER_FLOW_CONTROL. */
  flowControl?: PublisherFlowControl;
}

export interface PublishOptions {
  /** Reuse an id to republish the same event (idempotent downstream). Default: a new UUIDv7. */
  id?: string;
  time?: Date | string;
  /** Default: the ordering key, if the topic has one. */
  subject?: string;
  /** Schema revision to write (sent as ce-dataschema, naming topic and revision); default the newest the topic accepts. */
  schemaVersion?: string;
  /**
   * W3C traceparent of the trace the event belongs to (sent as ce-traceparent). Default: the active
   * OpenTelemetry span's, else a new trace per event. A malformed one is refused (EventRejectedError).
   */
  traceparent?: string;
  /** W3C tracestate, passed through unchanged (ce-tracestate); only with a traceparent of your own. */
  tracestate?: string;
  /**
   * CloudEvents extension attributes, name -> string value (sent as ce-<name>): names of lowercase
   * letters and digits, not a core attribute's (id, source, type, dataschema ...) nor traceparent,
   * tracestate or schemaversion. Consumers read them as event.extensions; the warehouse keeps them.
   */
  extensions?: Record<string, string>;
}

export interface Published {
  event: MeshEvent;
  messageId: string;
}

/**
 * What one topic's publishes came to since the publisher was made: the producer-side signal of
 * publish failures (in GCP Pub/Sub also counts them server-side, `topic/send_request_count` by
 * response class, which infra alerts on; a producer exports these to its own metrics or logs).
 */
export interface TopicPublishStats {
  /** Accepted by Pub/Sub (a message id came back). */
  published: number;
  /** Sent and refused or unanswered by Pub/Sub (PublishFailedError): the caller may retry with the same id. */
  failed: number;
  /** Refused before sending: not an event the topic carries, or its schema refuses it (EventRejectedError). */
  rejected: number;
  /** Refused by flow control with `limitExceededBehavior: 'error'` (PublisherFlowControlError). */
  throttled: number;
  /** Failures by gRPC status name (UNAVAILABLE, DEADLINE_EXCEEDED, ...). */
  failuresByCode: Record<string, number>;
  lastFailure?: { at: string; code: string; message: string };
}

/** gRPC status names by code, for failuresByCode. */
const GRPC_STATUS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
const statusName = (error: unknown) => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? (GRPC_STATUS[code] ?? String(code)) : 'UNKNOWN';
};

export class MeshPublisher {
  private readonly topics = new Map<string, Topic>();
  private readonly flows = new Map<string, PublishFlow>();
  private readonly flow: Required<PublisherFlowControl>;
  private readonly counts = new Map<string, TopicPublishStats>();

  constructor(private readonly options: MeshPublisherOptions) {
    this.flow = { ...DEFAULT_PUBLISHER_FLOW_CONTROL, ...options.flowControl };
    for (const [name, n] of [
      ['maxOutstandingMessages', this.flow.maxOutstandingMessages],
      ['maxOutstandingBytes', this.flow.maxOutstandingBytes],
    ] as const)
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`flowControl.${name} must be a positive integer, got ${n}`);
  }

  /** Messages and bytes handed to Pub/Sub on `topic` and not answered yet. */
  outstanding(topicName: string): { messages: number; bytes: number } {
    return this.flows.get(topicName)?.outstanding ?? { messages: 0, bytes: 0 };
  }

  /** Per topic published to (or tried): published, failed, rejected and throttled counts (TopicPublishStats). */
  stats(): Record<string, TopicPublishStats> {
    return Object.fromEntries([...this.counts].map(([topic, c]) => [topic, { ...c, failuresByCode: { ...c.failuresByCode } }]));
  }

  private countsOf(topic: string): TopicPublishStats {
    let c = this.counts.get(topic);
    if (!c) this.counts.set(topic, (c = { published: 0, failed: 0, rejected: 0, throttled: 0, failuresByCode: {} }));
    return c;
  }

  /** Validates and builds the event without sending it (also used by tests and the load tool). */
  prepare(topicName: string, type: string, data: unknown, options: PublishOptions = {}): { event: MeshEvent; orderingKey?: string } {
    const topic = this.options.spec.topics[topicName];
    if (!topic) throw new EventRejectedError(`unknown topic "${topicName}" (topics: ${Object.keys(this.options.spec.topics).join(', ')})`);
    if (!topic.eventTypes.includes(type))
      throw new EventRejectedError(`topic ${topicName} does not carry event type "${type}" (types: ${topic.eventTypes.join(', ')})`);
    // Before the schema reads it: its Avro round trip would turn a lone surrogate into U+FFFD silently.
    const problem = dataProblem(data, 'data');
    if (problem) throw new EventRejectedError(problem.message, problem.field);
    const schemas = topicSchemas(this.options.spec, topicName);
    let payload: Record<string, unknown>;
    try {
      payload = schemas.normalize(data, options.schemaVersion ?? schemas.current.name);
    } catch (error) {
      if (error instanceof SchemaValidationError) throw new EventRejectedError(`event ${type} rejected by schema ${error.message}`, error.field);
      throw error;
    }
    const orderingKey = topic.orderingKeyField ? String(payload[topic.orderingKeyField]) : undefined;
    const extensionProblem = extensionsProblem(options.extensions);
    if (extensionProblem) throw new EventRejectedError(extensionProblem.message, extensionProblem.field);
    const event = createEvent({
      id: options.id,
      type,
      source: this.options.source,
      time: options.time,
      subject: options.subject ?? orderingKey,
      schemaVersion: options.schemaVersion ?? schemas.current.name,
      topic: topicName,
      ...traceOf(options),
      extensions: options.extensions,
      data: payload,
    });
    rejectWhatConsumersWould(event, topic.eventTime);
    return { event, orderingKey };
  }

  async publish(topicName: string, type: string, data: unknown, options: PublishOptions = {}): Promise<Published> {
    let prepared: ReturnType<MeshPublisher['prepare']>;
    try {
      prepared = this.prepare(topicName, type, data, options);
    } catch (error) {
      if (this.options.spec.topics[topicName]) this.countsOf(topicName).rejected++;
      throw error;
    }
    const { event, orderingKey } = prepared;
    const counts = this.countsOf(topicName);
    const topic = this.topic(topicName);
    const message = toPubsubMessage(event, orderingKey);
    // Which side of a canary rollout it goes to (shared/canary/routing.ts): by ordering key, else event id.
    Object.assign(message.attributes, bucketAttribute(event.id, orderingKey));
    const size = messageSize(message);
    const flow = this.flowOf(topicName);
    if (this.flow.limitExceededBehavior === 'error' && flow.wouldWait(size)) {
      counts.throttled++;
      throw new PublisherFlowControlError(event.id, topicName, {
        ...flow.outstanding,
        maxMessages: this.flow.maxOutstandingMessages,
        maxBytes: this.flow.maxOutstandingBytes,
      });
    }
    // Waits (first come, first served) while the limits are reached; then counts as outstanding.
    if (!flow.tryAcquire(size)) await flow.acquire(size);
    try {
      const messageId = await topic.publishMessage(message);
      counts.published++;
      return { event, messageId };
    } catch (error) {
      const code = statusName(error);
      counts.failed++;
      counts.failuresByCode[code] = (counts.failuresByCode[code] ?? 0) + 1;
      counts.lastFailure = { at: new Date().toISOString(), code, message: (error as Error).message };
      // After a failure the client pauses that ordering key; resume it so later events can go,
      // and let the caller decide whether to retry this one (same id and time, so it stays idempotent).
      if (orderingKey) topic.resumePublishing(orderingKey);
      throw new PublishFailedError(event.id, topicName, orderingKey, error as Error, event.time, {
        traceparent: event.traceparent,
        tracestate: event.tracestate,
      });
    } finally {
      flow.release(size);
    }
  }

  /** Sends whatever is batched now. */
  async flush(): Promise<void> {
    await Promise.all([...this.topics.values()].map((t) => t.flush()));
  }

  private flowOf(name: string): PublishFlow {
    let flow = this.flows.get(name);
    if (!flow) this.flows.set(name, (flow = new PublishFlow({ maxMessages: this.flow.maxOutstandingMessages, maxBytes: this.flow.maxOutstandingBytes })));
    return flow;
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      const ordered = Boolean(this.options.spec.topics[name].orderingKeyField);
      topic = this.options.pubsub.topic(name, {
        messageOrdering: ordered,
        batching: { maxMessages: 100, maxBytes: 1024 * 1024, maxMilliseconds: 10, ...this.options.batching },
      });
      this.topics.set(name, topic);
    }
    return topic;
  }
}

/** What flow control counts of a message: its data, attribute keys and values, and ordering key. */
function messageSize(message: { data?: Buffer | Uint8Array | null; attributes?: Record<string, string> | null; orderingKey?: string | null }): number {
  let size = message.data?.length ?? 0;
  for (const [k, v] of Object.entries(message.attributes ?? {})) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  return size + Buffer.byteLength(message.orderingKey ?? '');
}

/** The event's trace context: the caller's (checked here, where the producer can fix it), else the active or a new one. */
function traceOf(options: PublishOptions): { traceparent: string; tracestate?: string } {
  if (options.traceparent === undefined) {
    if (options.tracestate !== undefined)
      throw new EventRejectedError("tracestate given without a traceparent: it belongs to the caller's trace", 'tracestate');
    return { traceparent: currentOrNewTraceparent() };
  }
  const problem = traceparentProblem(options.traceparent);
  if (problem) throw new EventRejectedError(problem, 'traceparent');
  const stateProblem = options.tracestate === undefined ? undefined : tracestateProblem(options.tracestate);
  if (stateProblem) throw new EventRejectedError(stateProblem, 'tracestate');
  return { traceparent: options.traceparent, tracestate: options.tracestate || undefined };
}

/**
 * What every consumer would dead-letter at once (shared/consumer/classify.ts), refused here instead,
 * where the producer can still fix it: a time that is not RFC 3339 or out of the topic's bounds (the
 * publish time is about now), an id or subject that is not encodable text. (The data is checked in prepare().)
 */
function rejectWhatConsumersWould(event: MeshEvent, bounds: EventTimeBounds): void {
  const timeMs = parseRfc3339(event.time);
  if (timeMs === undefined) throw new EventRejectedError(`time "${event.time}" is not an RFC 3339 date-time (e.g. 2024-05-01T13:45:00Z)`, 'time');
  const timeProblem = eventTimeProblem(timeMs, Date.now(), bounds);
  if (timeProblem) throw new EventRejectedError(timeProblem, 'time');
  for (const [field, value] of [
    ['id', event.id],
    ['subject', event.subject ?? ''],
  ] as const)
    if (!isWellFormedText(value)) throw new EventRejectedError(`${field} holds a lone UTF-16 surrogate (not encodable text)`, field);
}
