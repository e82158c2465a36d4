/**
 * Events -> rows of the warehouse's tables (schema.ts), in the form tabledata.insertAll takes
 * (`{insertId, json}`). Pure: the warehouse service streams them (services/warehouse/rows.ts insertBatch).
 *
 * A row's insertId is the event id and the message id, so a redelivery of one message (a nack, a
 * crash before the ack) is dropped by BigQuery's insertId dedup (best effort, about a minute or
 * more); the event id keeps apart the new messages a restarted Pub/Sub emulator numbers from 1
 * again. A republished
 * event (same event id, a message of its own) is stored again on purpose: the `<topic>_events_dedup`
 * view keeps the first published copy of each event, and it can only do that if every copy is there.
 * Keyed by event id, the first copy to *arrive* won: after a kill, the original (redelivered once its
 * lease ran out) came after its republished copy, and the warehouse kept the later publish time, so
 * replaying an order's events in publish order (mesh parity) put them in the wrong order (found by
 * the fault suite). The row holds the envelope, one typed column per field of the topic's current schema
 * revision, and the whole payload as JSON in `data`.
 */
import { randomUUID } from 'node:crypto';
import type { MeshEvent } from '../envelope';
import { TopicSchemas } from '../schemas/topic-schemas';
import type { TopicSpec } from '../spec';
import { eventsTableSchema, payloadColumnName, type BigQueryType } from './schema';
import { REPLAY_ID_ATTRIBUTE } from '../replay/attribute';

/** One delivery of an event, as the consumer runtime hands it over. */
export interface EventDelivery {
  /** Envelope checked, `data` read as the topic's current revision. */
  event: MeshEvent<unknown>;
  messageId: string;
  publishTime?: Date | string;
  orderingKey?: string;
  attributes?: Readonly<Record<string, string>>;
}

/** What tabledata.insertAll takes with `{raw: true}`. */
export interface InsertRow {
  insertId: string;
  json: Record<string, unknown>;
}

/** Turns deliveries of one topic into rows of `<topic>_events`. */
export class EventRowMapper {
  /** [payload field, column, column type] for each field of the current revision. */
  private readonly payload: [string, string, BigQueryType][];

  constructor(readonly topic: TopicSpec) {
    const columns = new Map(eventsTableSchema(topic).map((c) => [c.name, c.type]));
    this.payload = TopicSchemas.load(topic).current.fieldNames.map((field) => {
      const column = payloadColumnName(field);
      return [field, column, columns.get(column)!];
    });
  }

  row(delivery: EventDelivery): InsertRow {
    const { event } = delivery;
    const data = event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data) ? (event.data as Record<string, unknown>) : {};
    const json: Record<string, unknown> = {
      event_id: event.id,
      event_type: event.type,
      source: event.source,
      subject: event.subject ?? null,
      event_time: event.time || null,
      schema_version: event.schemaVersion || null,
      publish_time: delivery.publishTime instanceof Date ? delivery.publishTime.toISOString() : (delivery.publishTime ?? null),
      message_id: delivery.messageId,
      ordering_key: delivery.orderingKey || null,
      attributes: JSON.stringify(delivery.attributes ?? {}),
      replay_id: delivery.attributes?.[REPLAY_ID_ATTRIBUTE] || null,
      data: JSON.stringify(event.data ?? null),
      extensions: extensionsColumn(event),
    };
    for (const [field, column, type] of this.payload) json[column] = columnValue(data[field], type);
    return { insertId: `${event.id}/${delivery.messageId}`, json };
  }
}

/**
 * The `extensions` column: every CloudEvents extension attribute of the event, the distributed
 * tracing ones included (an analyst can go from a row to the event's trace), as JSON text; NULL when
 * the event has none.
 */
function extensionsColumn(event: MeshEvent<unknown>): string | null {
  if (!event.extensions && !event.traceparent && !event.tracestate) return null;
  return JSON.stringify({
    ...event.extensions,
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
    ...(event.tracestate ? { tracestate: event.tracestate } : {}),
  });
}

/** A payload value in the form insertAll takes for its column (JSON columns travel as JSON text). */
function columnValue(value: unknown, type: BigQueryType): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'JSON':
      return JSON.stringify(value);
    case 'BYTES':
      return Buffer.isBuffer(value) ? value.toString('base64') : Buffer.from(String(value), 'latin1').toString('base64');
    case 'INT64':
      // Beyond 2^53 a JS number has lost digits already; send exact integers as strings.
      return typeof value === 'bigint' ? value.toString() : value;
    default:
      return value;
  }
}

const mappers = new WeakMap<TopicSpec, EventRowMapper>();

/** The insertAll row of one delivery (the mapper is cached per topic spec). */
export function eventRow(topic: TopicSpec, delivery: EventDelivery): InsertRow {
  let mapper = mappers.get(topic);
  if (!mapper) mappers.set(topic, (mapper = new EventRowMapper(topic)));
  return mapper.row(delivery);
}

export interface DeadLetter {
  consumer: string;
  topic: string;
  /** Short machine-readable cause: schema, poison, insert, max-attempts ... */
  reason: string;
  error: string;
  eventId?: string;
  messageId?: string;
  attributes?: Readonly<Record<string, string>>;
  /** The payload as received (may not be JSON). */
  data?: Buffer | string;
  at?: Date;
}

/** A row of `dead_letters`; the insertId makes a retried dead-lettering land once. */
export function deadLetterRow(letter: DeadLetter): InsertRow {
  const data = letter.data === undefined ? null : Buffer.isBuffer(letter.data) ? letter.data.toString('utf8') : letter.data;
  return {
    insertId: `${letter.consumer}/${letter.eventId ?? letter.messageId ?? randomUUID()}`,
    json: {
      event_id: letter.eventId ?? null,
      consumer: letter.consumer,
      topic: letter.topic,
      reason: letter.reason,
      error: letter.error,
      attributes: JSON.stringify(letter.attributes ?? {}),
      data,
      dead_lettered_at: (letter.at ?? new Date()).toISOString(),
    },
  };
}

/** A TIMESTAMP as the client returns it (BigQueryTimestamp, Date or text), as ISO text. */
export function timestampText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null && 'value' in value) return String(value.value);
  return String(value);
}
