/**
 * The event model, independent of any transport (cf. cloudevents/sdk-javascript). The event id is a
 * UUIDv7 (sortable by creation time) and is the idempotency key everywhere: dedup records, the
 * warehouse insertId, dashboard counting.
 */
import { v7 as uuidv7 } from 'uuid';
import { dataSchemaUri } from './dataschema';

export const SPEC_VERSION = '1.0';

export interface MeshEvent<T = Record<string, unknown>> {
  /** Idempotency key: the same id means the same event, whatever the message id. */
  id: string;
  /** One of the topic's eventTypes, e.g. order.paid */
  type: string;
  /** Who produced it, a URI reference such as //checkout/api */
  source: string;
  /** When it happened (RFC 3339), set by the producer. */
  time: string;
  /** What it is about, e.g. the order id. */
  subject?: string;
  /**
   * Schema revision the data was written with (v1, v2 ...): the mesh's own name for it, read from and
   * written as the CloudEvents `dataschema` URI (dataschema.ts), which also names the topic.
   */
  schemaVersion: string;
  /** The CloudEvents `dataschema` URI as carried (urn:event-mesh:schema:<topic>:<revision>); absent when the message named none. */
  dataschema?: string;
  specversion: typeof SPEC_VERSION;
  datacontenttype: 'application/json';
  /** W3C traceparent (CloudEvents distributed tracing extension, trace-context.ts). */
  traceparent?: string;
  /** W3C tracestate, passed through as the producer gave it. */
  tracestate?: string;
  /** Other CloudEvents extension attributes, name -> value (extensions.ts); absent when there are none. */
  extensions?: Record<string, string>;
  data: T;
}

export interface NewEvent<T> {
  type: string;
  source: string;
  data: T;
  schemaVersion: string;
  id?: string;
  time?: Date | string;
  subject?: string;
  /** The topic the event is for: with it, `dataschema` names topic and revision. */
  topic?: string;
  traceparent?: string;
  tracestate?: string;
  extensions?: Record<string, string>;
}

export function newEventId(): string {
  return uuidv7();
}

export function createEvent<T>(input: NewEvent<T>): MeshEvent<T> {
  const time = input.time instanceof Date ? input.time.toISOString() : (input.time ?? new Date().toISOString());
  return {
    id: input.id ?? newEventId(),
    type: input.type,
    source: input.source,
    time,
    subject: input.subject,
    schemaVersion: input.schemaVersion,
    ...(input.topic ? { dataschema: dataSchemaUri(input.topic, input.schemaVersion) } : {}),
    specversion: SPEC_VERSION,
    datacontenttype: 'application/json',
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    ...(input.tracestate ? { tracestate: input.tracestate } : {}),
    ...(input.extensions && Object.keys(input.extensions).length ? { extensions: { ...input.extensions } } : {}),
    data: input.data,
  };
}
