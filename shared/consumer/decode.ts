/**
 * IncomingMessage -> DecodedEvent: the CloudEvents envelope, the event type against the topic's
 * list, and the payload against the writer's schema revision, read as the topic's current one.
 * Anything wrong here is the message's fault, so every failure is a PoisonError with the
 * dead-letter reason code.
 */
import { EnvelopeError, fromPubsubMessage, type IncomingMessage, type MeshEvent } from '../envelope';
import { SchemaValidationError, topicSchemas } from '../schemas';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { PoisonError, TransientError } from './errors';
import type { DecodedEvent } from './types';

export type Decoder = (message: IncomingMessage) => DecodedEvent;

/** A decoder for one consumer's topic; schemas are loaded once, here. */
export function createDecoder(spec: MeshSpec, consumer: Pick<ConsumerSpec, 'name' | 'topic'>): Decoder {
  const topic = spec.topics[consumer.topic];
  if (!topic) throw new Error(`consumer ${consumer.name}: unknown topic "${consumer.topic}"`);
  const schemas = topicSchemas(spec, topic.name);
  const eventTypes = new Set(topic.eventTypes);
  const readAs = schemas.current.name;

  return (message) => {
    let envelope: MeshEvent<unknown>;
    try {
      envelope = fromPubsubMessage(message);
    } catch (error) {
      throw asPoison(error);
    }
    if (!eventTypes.has(envelope.type)) {
      throw new PoisonError(`event type "${envelope.type}" is not carried by topic ${topic.name} (types: ${topic.eventTypes.join(', ')})`, 'unknown-type');
    }
    const writer = envelope.schemaVersion || readAs;
    let data: Record<string, unknown>;
    try {
      data = schemas.read(envelope.data, writer);
    } catch (error) {
      throw asPoison(error);
    }
    // fromPubsubMessage built `envelope` for us alone: fill it in rather than copy it (hot path).
    const event = envelope as MeshEvent<Record<string, unknown>>;
    event.schemaVersion = writer;
    event.data = data;
    return {
      event,
      readAs,
      messageId: message.messageId,
      publishTime: message.publishTime,
      orderingKey: message.orderingKey || undefined,
      deliveryAttempt: message.deliveryAttempt,
      attributes: message.attributes,
    };
  };
}

/** The runtime's verdict on an error thrown while decoding or handling a message. */
export type Verdict = { kind: 'poison'; reason: string; message: string } | { kind: 'transient'; message: string; expected: boolean };

export function classifyError(error: unknown): Verdict {
  if (error instanceof PoisonError) return { kind: 'poison', reason: error.reason, message: error.message };
  if (error instanceof EnvelopeError || error instanceof SchemaValidationError) {
    const poison = toPoison(error);
    return { kind: 'poison', reason: poison.reason, message: poison.message };
  }
  if (error instanceof TransientError) return { kind: 'transient', message: error.message, expected: true };
  return { kind: 'transient', message: error instanceof Error ? error.message : String(error), expected: false };
}

function toPoison(error: EnvelopeError | SchemaValidationError): PoisonError {
  if (error instanceof EnvelopeError) return new PoisonError(error.message, error.problem, { cause: error });
  return new PoisonError(`schema: ${error.message}`, 'schema', { cause: error });
}

function asPoison(error: unknown): unknown {
  return error instanceof EnvelopeError || error instanceof SchemaValidationError ? toPoison(error) : error;
}
