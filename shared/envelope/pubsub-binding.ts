/**
 * CloudEvents Pub/Sub binding, binary mode: the data travels unchanged as the message body (JSON)
 * and every context attribute becomes a `ce-<name>` message attribute. Raw-client producers that
 * set these attributes themselves interoperate with the MeshPublisher.
 */
import { SPEC_VERSION, type MeshEvent } from './event';
import { parseRfc3339 } from './time';
import { dataProblem, isWellFormedText, printable } from './well-formed';

export const ATTR = {
  id: 'ce-id',
  type: 'ce-type',
  source: 'ce-source',
  time: 'ce-time',
  subject: 'ce-subject',
  specversion: 'ce-specversion',
  schemaVersion: 'ce-schemaversion',
  contentType: 'content-type',
} as const;

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

export type EnvelopeProblem = 'missing-attribute' | 'bad-attribute' | 'not-json' | 'unsupported-specversion' | 'bad-encoding' | 'too-deep';

/** A message that cannot be an event: it goes to the dead-letter topic with `reason` = problem. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly problem: EnvelopeProblem,
    message: string,
  ) {
    super(message);
  }
}

export function toPubsubMessage(event: MeshEvent<unknown>, orderingKey?: string): OutgoingMessage {
  const attributes: Record<string, string> = {
    [ATTR.id]: event.id,
    [ATTR.type]: event.type,
    [ATTR.source]: event.source,
    [ATTR.time]: event.time,
    [ATTR.specversion]: event.specversion,
    [ATTR.schemaVersion]: event.schemaVersion,
    [ATTR.contentType]: event.datacontenttype,
  };
  if (event.subject) attributes[ATTR.subject] = event.subject;
  return { data: Buffer.from(JSON.stringify(event.data)), attributes, orderingKey: orderingKey || undefined };
}

/**
 * Reads an event back. Only the envelope is checked here; schema validation of `data` is the
 * consumer runtime's job, which knows the topic. `schemaVersion` falls back to '' when absent
 * (raw producers may omit it: the consumer then reads with the topic's current revision).
 */
export function fromPubsubMessage(message: Pick<IncomingMessage, 'data' | 'attributes'>): MeshEvent<unknown> {
  const attrs = message.attributes ?? {};
  for (const name of REQUIRED) {
    if (!attrs[name]) throw new EnvelopeError('missing-attribute', `attribute ${name} is missing`);
  }
  for (const name of Object.values(ATTR)) {
    const value = attrs[name];
    if (value !== undefined && !isWellFormedText(value))
      throw new EnvelopeError('bad-encoding', `attribute ${name} "${printable(value)}" holds a lone UTF-16 surrogate (not encodable text)`);
  }
  if (attrs[ATTR.specversion] !== SPEC_VERSION) {
    throw new EnvelopeError('unsupported-specversion', `${ATTR.specversion} is "${attrs[ATTR.specversion]}", expected ${SPEC_VERSION}`);
  }
  const time = attrs[ATTR.time];
  if (time !== undefined && parseRfc3339(time) === undefined)
    throw new EnvelopeError('bad-attribute', `${ATTR.time} "${printable(time)}" is not an RFC 3339 date-time (e.g. 2024-05-01T13:45:00Z)`);
  const contentType = attrs[ATTR.contentType];
  if (contentType !== undefined && !/^application\/(.+\+)?json\b/.test(contentType)) {
    throw new EnvelopeError('bad-attribute', `content-type "${contentType}" is not JSON`);
  }
  let data: unknown;
  try {
    data = JSON.parse(message.data.toString('utf8'));
  } catch (error) {
    throw new EnvelopeError('not-json', `data is not JSON: ${(error as Error).message}`);
  }
  const problem = dataProblem(data);
  if (problem) throw new EnvelopeError(problem.kind, problem.message);
  return {
    id: attrs[ATTR.id],
    type: attrs[ATTR.type],
    source: attrs[ATTR.source],
    time: time ?? '',
    subject: attrs[ATTR.subject],
    schemaVersion: attrs[ATTR.schemaVersion] ?? '',
    specversion: SPEC_VERSION,
    datacontenttype: 'application/json',
    data,
  };
}
