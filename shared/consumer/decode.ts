/**
 * IncomingMessage -> DecodedEvent: the CloudEvents envelope, the event type against the topic's
 * list, the `dataschema` against the topic, and the payload against the writer's schema revision,
 * read as the topic's current one. Anything wrong here is the message's fault, so every failure is a
 * PoisonError with the dead-letter reason code.
 *
 * A `ce-dataschema` naming another topic's schema is `schema` (the event breaks this topic's
 * contract: a producer published to the wrong topic, and reading its data with this topic's schema
 * could only guess); one that is not a mesh schema URI, or that disagrees with the deprecated
 * `ce-schemaversion`, is `bad-attribute` (readPubsubMessage, shared/envelope/dataschema.ts).
 */
import { eventTimeProblem, readPubsubMessage, type IncomingMessage, type MeshEvent, type ReadMessage } from '../envelope';
import { topicSchemas } from '../schemas';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { asPoison } from './classify';
import { PoisonError } from './errors';
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
    let read: ReadMessage;
    try {
      read = readPubsubMessage(message);
    } catch (error) {
      throw asPoison(error);
    }
    const envelope = read.event;
    if (read.timeMs !== undefined) {
      const published = message.publishTime?.getTime();
      const problem = eventTimeProblem(read.timeMs, Number.isFinite(published) ? published : undefined, topic.eventTime);
      if (problem) throw new PoisonError(problem, 'time-out-of-range');
    }
    if (!eventTypes.has(envelope.type)) {
      throw new PoisonError(`event type "${envelope.type}" is not carried by topic ${topic.name} (types: ${topic.eventTypes.join(', ')})`, 'unknown-type');
    }
    if (read.dataschema) {
      const named = read.dataschema.topic;
      if (named !== topic.name)
        throw new PoisonError(`ce-dataschema ${envelope.dataschema} names topic ${named}'s schema, but this is topic ${topic.name}`, 'schema');
    }
    const writer = envelope.schemaVersion || readAs;
    let data: Record<string, unknown>;
    try {
      data = schemas.read(envelope.data, writer);
    } catch (error) {
      throw asPoison(error);
    }
    // readPubsubMessage built `envelope` for us alone: fill it in rather than copy it (hot path).
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
