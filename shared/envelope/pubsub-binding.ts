/**
 * CloudEvents Pub/Sub binding, binary mode: the data travels unchanged as the message body (JSON)
 * and every context attribute becomes a `ce-<name>` message attribute
 * (https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md 3.1.3), extension
 * attributes included. Raw-client producers that set these attributes themselves interoperate with
 * the MeshPublisher.
 */
import { dataSchemaUri, LEGACY_SCHEMAVERSION_ATTRIBUTE, schemaRevisionOf, type DataSchemaRef } from './dataschema';
import { EnvelopeError } from './errors';
import { SPEC_VERSION, type MeshEvent } from './event';
import { isExtensionName, isReservedName } from './extensions';
import { parseRfc3339 } from './time';
import { TRACEPARENT_ATTRIBUTE, TRACESTATE_ATTRIBUTE } from './trace-context';
import { dataProblem, isWellFormedText, printable } from './well-formed';

export { EnvelopeError, type EnvelopeProblem } from './errors';

export const ATTR = {
  id: 'ce-id',
  type: 'ce-type',
  source: 'ce-source',
  time: 'ce-time',
  subject: 'ce-subject',
  specversion: 'ce-specversion',
  dataschema: 'ce-dataschema',
  /** Deprecated: read until SCHEMAVERSION_ACCEPTED_UNTIL, never written (dataschema.ts). */
  schemaVersion: LEGACY_SCHEMAVERSION_ATTRIBUTE,
  traceparent: TRACEPARENT_ATTRIBUTE,
  tracestate: TRACESTATE_ATTRIBUTE,
  contentType: 'content-type',
} as const;

const ATTRIBUTE_NAMES: readonly string[] = Object.values(ATTR);

const CE_PREFIX = 'ce-';

const REQUIRED = [ATTR.id, ATTR.type, ATTR.source, ATTR.specversion] as const;

export interface OutgoingMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
}

/** What a consumer receives, whatever the transport (push, pull, a test). */
export interface IncomingMessage {
  data: Buffer;
  attributes: Record<string, string>;
  messageId: string;
  publishTime?: Date;
  orderingKey?: string;
  deliveryAttempt?: number;
}

export function toPubsubMessage(event: MeshEvent<unknown>, orderingKey?: string): OutgoingMessage {
  const attributes: Record<string, string> = {
    [ATTR.id]: event.id,
    [ATTR.type]: event.type,
    [ATTR.source]: event.source,
    [ATTR.time]: event.time,
    [ATTR.specversion]: event.specversion,
    [ATTR.contentType]: event.datacontenttype,
  };
  if (event.subject) attributes[ATTR.subject] = event.subject;
  // Only the dataschema URI (it names the topic); an event built without a topic says no revision.
  if (event.dataschema) attributes[ATTR.dataschema] = event.dataschema;
  if (event.traceparent) attributes[ATTR.traceparent] = event.traceparent;
  if (event.tracestate) attributes[ATTR.tracestate] = event.tracestate;
  // Extensions after the core attributes: extensions.ts refuses names that would overwrite them.
  if (event.extensions) for (const [name, value] of Object.entries(event.extensions)) attributes[CE_PREFIX + name] = value;
  return { data: Buffer.from(JSON.stringify(event.data)), attributes, orderingKey: orderingKey || undefined };
}

/**
 * Reads an event back. Only the envelope is checked here; schema validation of `data` and whether
 * `dataschema` names the consumer's topic are the consumer runtime's job, which knows the topic.
 * `schemaVersion` falls back to '' when the message names no revision (raw producers may omit it:
 * the consumer then reads with the topic's current revision). The deprecated `ce-schemaversion` is
 * judged against `publishTime` (dataschema.ts). Every other `ce-<name>` attribute with a CloudEvents
 * name is an extension; `ce-` attributes with other names are not CloudEvents attributes and stay in
 * the message's attributes only.
 */
export function fromPubsubMessage(message: Pick<IncomingMessage, 'data' | 'attributes' | 'publishTime'>): MeshEvent<unknown> {
  return readPubsubMessage(message).event;
}

/**
 * The event as fromPubsubMessage reads it, with what the check already parsed: the consumer runtime
 * judges the event time and the dataschema's topic next, and parsing them again would cost each
 * event a second RFC 3339 parse and regex (docs/performance.md, the warehouse profile).
 */
export interface ReadMessage {
  event: MeshEvent<unknown>;
  /** `ce-time` in epoch milliseconds, when the message has one. */
  timeMs?: number;
  /** Topic and revision named by `ce-dataschema`, when the message has one. */
  dataschema?: DataSchemaRef;
}

/** fromPubsubMessage, keeping what it parsed (ReadMessage). */
export function readPubsubMessage(message: Pick<IncomingMessage, 'data' | 'attributes' | 'publishTime'>): ReadMessage {
  const attrs = message.attributes ?? {};
  for (const name of REQUIRED) {
    if (!attrs[name]) throw new EnvelopeError('missing-attribute', `attribute ${name} is missing`);
  }
  for (const name of ATTRIBUTE_NAMES) {
    const value = attrs[name];
    if (value !== undefined && !isWellFormedText(value))
      throw new EnvelopeError('bad-encoding', `attribute ${name} "${printable(value)}" holds a lone UTF-16 surrogate (not encodable text)`);
  }
  if (attrs[ATTR.specversion] !== SPEC_VERSION) {
    throw new EnvelopeError('unsupported-specversion', `${ATTR.specversion} is "${attrs[ATTR.specversion]}", expected ${SPEC_VERSION}`);
  }
  const time = attrs[ATTR.time];
  const timeMs = time === undefined ? undefined : parseRfc3339(time);
  if (time !== undefined && timeMs === undefined)
    throw new EnvelopeError('bad-attribute', `${ATTR.time} "${printable(time)}" is not an RFC 3339 date-time (e.g. 2024-05-01T13:45:00Z)`);
  const contentType = attrs[ATTR.contentType];
  if (contentType !== undefined && !/^application\/(.+\+)?json\b/.test(contentType)) {
    throw new EnvelopeError('bad-attribute', `content-type "${contentType}" is not JSON`);
  }
  const published = message.publishTime?.getTime();
  const { ref, revision } = schemaRevisionOf(attrs[ATTR.dataschema], attrs[ATTR.schemaVersion], Number.isFinite(published) ? published : undefined);
  const extensions = extensionsOf(attrs);
  let data: unknown;
  try {
    data = JSON.parse(message.data.toString('utf8'));
  } catch (error) {
    throw new EnvelopeError('not-json', `data is not JSON: ${(error as Error).message}`);
  }
  const problem = dataProblem(data);
  if (problem) throw new EnvelopeError(problem.kind, problem.message);
  const event: MeshEvent<unknown> = {
    id: attrs[ATTR.id],
    type: attrs[ATTR.type],
    source: attrs[ATTR.source],
    time: time ?? '',
    subject: attrs[ATTR.subject],
    schemaVersion: revision ?? '',
    ...(attrs[ATTR.dataschema] ? { dataschema: attrs[ATTR.dataschema] } : {}),
    specversion: SPEC_VERSION,
    datacontenttype: 'application/json',
    ...(attrs[ATTR.traceparent] ? { traceparent: attrs[ATTR.traceparent] } : {}),
    ...(attrs[ATTR.tracestate] ? { tracestate: attrs[ATTR.tracestate] } : {}),
    ...(extensions ? { extensions } : {}),
    data,
  };
  return { event, timeMs, dataschema: ref };
}

/** The message's CloudEvents extension attributes (ce-<name> beyond the core and managed ones), or undefined. */
function extensionsOf(attrs: Record<string, string>): Record<string, string> | undefined {
  let extensions: Record<string, string> | undefined;
  for (const key in attrs) {
    if (!key.startsWith(CE_PREFIX)) continue;
    const name = key.slice(CE_PREFIX.length);
    if (!isExtensionName(name) || isReservedName(name)) continue;
    const value = attrs[key];
    if (!isWellFormedText(value))
      throw new EnvelopeError('bad-encoding', `attribute ${key} "${printable(value)}" holds a lone UTF-16 surrogate (not encodable text)`);
    (extensions ??= {})[name] = value;
  }
  return extensions;
}

/** The dataschema URI of `topic` at `revision` (the publisher's, also for tests and tools that build messages). */
export const dataschemaAttribute = (topic: string, revision: string) => ({ [ATTR.dataschema]: dataSchemaUri(topic, revision) });
