/**
 * The event catalog: the spec as an AsyncAPI 3.0 document, so that a team that did not exist when
 * the mesh was written can find what flows through it, who owns it and who reads it.
 *
 *  - one channel per topic (address = the topic), with the googlepubsub channel binding (retention,
 *    schema settings) and the topic's owner, revisions, compatibility and ordering key as x-mesh-*;
 *  - one message per event type, its payload the topic's current Avro revision (a multi-format
 *    schema), its headers the CloudEvents `ce-*` attributes (from the envelope's ATTR), an example,
 *    and the googlepubsub message binding's ordering key;
 *  - every schema revision in components.schemas as `<topic>.<revision>`;
 *  - one `receive` operation per consumer (delivery, ordering, SLOs, owner, revisions it reads as
 *    x-mesh-*) and one `send` operation per topic for its producers.
 *
 * Deterministic: the same spec (and schema files) give the same document, in spec order. Its
 * info.version is a digest of the rest, so it changes exactly when the catalog does.
 */
import { createHash } from 'node:crypto';
import { ATTR, DATASCHEMA_PREFIX, SCHEMAVERSION_ACCEPTED_UNTIL, SPEC_VERSION, dataSchemaUri } from '../envelope';
import { topicSchemas } from '../schemas';
import { topicSchemaName, toProtoDuration, type ConsumerSpec, type MeshSpec, type TopicSpec } from '../spec';
import { parseAvsc } from './avro';
import { examplePayload } from './examples';

export const ASYNCAPI_VERSION = '3.0.0';
export const AVRO_SCHEMA_FORMAT = 'application/vnd.apache.avro;version=1.9.0';
export const GOOGLE_PUBSUB_BINDING_VERSION = '0.2.0';

/** An AsyncAPI document as plain JSON (what `mesh catalog` writes and /catalog.json serves). */
export type AsyncApiDocument = Record<string, unknown> & {
  asyncapi: string;
  info: Record<string, unknown>;
  channels: Record<string, Record<string, unknown>>;
  operations: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, { schemaFormat: string; schema: unknown }>; messages: Record<string, Record<string, unknown>> };
};

/** `components.schemas` key of a topic's revision. */
export const schemaKey = (topic: string, revision: string) => `${topic}.${revision}`;
/** `components.messages` key of an event type. */
export const messageKey = (topic: string, eventType: string) => `${topic}.${eventType}`;
/** Operation key of a topic's producers. */
export const publishOperationKey = (topic: string) => `publish-${topic}`;

/** What each envelope attribute means, by ATTR key; an attribute added to ATTR without one gets a generic line. */
const ATTRIBUTE_DOCS: Partial<Record<string, string>> = {
  id: 'Event id (UUIDv7): the idempotency key every consumer deduplicates on.',
  type: 'The event type, one of the topic’s event types.',
  source: 'Who produced it, a URI reference such as //checkout/api.',
  time: 'When it happened (RFC 3339), set by the producer.',
  subject: 'What it is about, e.g. the order id (optional).',
  specversion: 'CloudEvents version.',
  schemaVersion: `Deprecated: the revision alone (v1, v2 ...); accepted only on messages published until ${SCHEMAVERSION_ACCEPTED_UNTIL}. Send ce-dataschema.`,
  dataschema: `The schema revision the data was written with, ${DATASCHEMA_PREFIX}<topic>:<revision>; a URI naming another topic is dead-lettered. Absent: the topic’s current revision.`,
  traceparent: 'W3C trace context (version-traceid-spanid-flags); consumers log the trace id so one event’s path is one trace.',
  tracestate: 'W3C tracestate, vendor trace data carried next to ce-traceparent.',
  contentType: 'Content type of the data.',
};
/** CloudEvents' required context attributes (spec 1.0); required here when ATTR carries them. */
const CLOUDEVENTS_REQUIRED = ['id', 'source', 'specversion', 'type'];

export function buildCatalog(spec: MeshSpec): AsyncApiDocument {
  const document: AsyncApiDocument = {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: `Event mesh ${spec.project}`,
      version: '',
      description: [
        'Every topic of the event mesh, the events on it with their Avro schema revisions and examples, and every consumer that reads them, generated from the mesh spec (`mesh catalog`).',
        'Events are CloudEvents in the Pub/Sub binary binding: JSON data as the message body, context attributes as `ce-*` message attributes. Each consumer has its own subscription, dead-letter topic and redrive topic.',
        'x-mesh-* fields carry what AsyncAPI has no field for (owners, SLOs, retention, compatibility); durations are in seconds.',
      ].join('\n\n'),
      tags: Object.values(spec.owners).map((o) => clean({ name: ownerTag(o.name), description: o.description })),
      'x-mesh-owners': Object.fromEntries(Object.values(spec.owners).map((o) => [o.name, ownerContacts(o.channels)])),
    },
    defaultContentType: 'application/json',
    servers: {
      gcp: { host: 'pubsub.googleapis.com', protocol: 'googlepubsub', description: 'Google Cloud Pub/Sub; the project is the Pulumi stack’s gcp:project.' },
      local: {
        host: `localhost:${spec.local.pubsubPort}`,
        protocol: 'googlepubsub',
        description: `The Pub/Sub emulator of npm start, project ${spec.project}.`,
      },
    },
    channels: {},
    operations: {},
    components: { schemas: {}, messages: {} },
  };
  for (const topic of Object.values(spec.topics)) addTopic(document, spec, topic);
  for (const consumer of Object.values(spec.consumers)) addConsumer(document, spec, consumer);
  document.info.version = `sha256-${createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 12)}`;
  return document;
}

function addTopic(document: AsyncApiDocument, spec: MeshSpec, topic: TopicSpec): void {
  const schemas = topicSchemas(spec, topic.name);
  const accepted = schemas.accepted.map((r) => r.name);
  for (const revision of schemas.revisions) {
    document.components.schemas[schemaKey(topic.name, revision.name)] = { schemaFormat: AVRO_SCHEMA_FORMAT, schema: parseAvsc(revision.definition) };
  }
  const current = schemas.current.name;
  const currentSchema = parseAvsc(schemas.current.definition);
  const schemaName = `projects/${spec.project}/schemas/${topicSchemaName(topic.name)}`;
  const revisions = schemas.revisions.map((r) => ({
    revision: r.name,
    accepted: accepted.includes(r.name),
    schema: `#/components/schemas/${schemaKey(topic.name, r.name)}`,
  }));
  const common = clean({
    'x-mesh-owner': topic.owner,
    'x-mesh-retention-seconds': topic.retentionSeconds,
    'x-mesh-ordering-key-field': topic.orderingKeyField,
    'x-mesh-schema-revisions': revisions,
    'x-mesh-current-revision': current,
  });
  const channelMessages: Record<string, { $ref: string }> = {};
  for (const eventType of topic.eventTypes) {
    const key = messageKey(topic.name, eventType);
    document.components.messages[key] = clean({
      name: eventType,
      title: eventType,
      summary: `A ${eventType} event on topic ${topic.name}.`,
      contentType: 'application/json',
      headers: headersSchema(topic.name, eventType, accepted),
      payload: { $ref: `#/components/schemas/${schemaKey(topic.name, current)}` },
      tags: topic.owner ? [{ name: ownerTag(topic.owner) }] : undefined,
      bindings: {
        googlepubsub: clean({
          bindingVersion: GOOGLE_PUBSUB_BINDING_VERSION,
          orderingKey: topic.orderingKeyField ? `$message.payload#/${topic.orderingKeyField}` : undefined,
          schema: { name: schemaName },
        }),
      },
      examples: [
        {
          name: `${eventType}-${current}`,
          summary: `${eventType}, written with ${current}`,
          headers: exampleHeaders(topic.name, eventType, current),
          payload: examplePayload(currentSchema, eventType),
        },
      ],
      ...common,
    });
    channelMessages[eventType] = { $ref: `#/components/messages/${key}` };
  }
  document.channels[topic.name] = clean({
    address: topic.name,
    title: topic.name,
    description: topic.description,
    messages: channelMessages,
    tags: topic.owner ? [{ name: ownerTag(topic.owner) }] : undefined,
    bindings: {
      googlepubsub: {
        bindingVersion: GOOGLE_PUBSUB_BINDING_VERSION,
        messageRetentionDuration: toProtoDuration(topic.retentionSeconds),
        schemaSettings: { encoding: 'json', name: schemaName },
      },
    },
    ...common,
    'x-mesh-accept': topic.schema.accept,
    'x-mesh-compatibility': topic.schema.compatibility,
    'x-mesh-deprecation-window-seconds': topic.schema.deprecationWindowSeconds,
    'x-mesh-impact': topic.impact,
    'x-mesh-approval': topic.approval,
  });
  document.operations[publishOperationKey(topic.name)] = clean({
    action: 'send',
    channel: { $ref: `#/channels/${topic.name}` },
    messages: topic.eventTypes.map((t) => ({ $ref: `#/channels/${topic.name}/messages/${t}` })),
    title: `Publish to ${topic.name}`,
    summary: `Producers of ${topic.name}: MeshPublisher, or the plain Pub/Sub client with the ce-* attributes (docs/producers.md).`,
    tags: topic.owner ? [{ name: ownerTag(topic.owner) }] : undefined,
    'x-mesh-owner': topic.owner,
  });
}

function addConsumer(document: AsyncApiDocument, spec: MeshSpec, consumer: ConsumerSpec): void {
  const topic = spec.topics[consumer.topic];
  const accepted = topicSchemas(spec, topic.name).accepted.map((r) => r.name);
  const traits = [consumer.delivery, consumer.ordering ? 'ordered' : '', consumer.exactlyOnce ? 'exactly-once' : ''].filter(Boolean).join(', ');
  document.operations[consumer.name] = clean({
    action: 'receive',
    channel: { $ref: `#/channels/${topic.name}` },
    messages: topic.eventTypes.map((t) => ({ $ref: `#/channels/${topic.name}/messages/${t}` })),
    title: consumer.name,
    summary: `${consumer.name} reads ${topic.name} (${traits})${consumer.service ? ` in service ${consumer.service}` : consumer.table ? ` into table ${consumer.table}` : ''}.`,
    description: consumer.description ?? (consumer.service ? spec.services[consumer.service]?.description : undefined),
    tags: consumer.owner ? [{ name: ownerTag(consumer.owner) }] : undefined,
    'x-mesh-owner': consumer.owner,
    'x-mesh-delivery': consumer.delivery,
    'x-mesh-service': consumer.service,
    'x-mesh-table': consumer.table,
    'x-mesh-ordering': consumer.ordering,
    'x-mesh-exactly-once': consumer.exactlyOnce,
    'x-mesh-filter': consumer.filter,
    'x-mesh-reads': consumer.reads ?? accepted,
    'x-mesh-reads-declared': consumer.reads !== undefined,
    'x-mesh-slo': clean({
      oldestUnackedSeconds: consumer.lagSlo.oldestUnackedSeconds,
      backlog: consumer.lagSlo.backlog,
      rtoSeconds: consumer.recovery?.rtoSeconds,
      rpoSeconds: consumer.recovery?.rpoSeconds,
      deadLetterTriageSeconds: consumer.deadLetter.triageSlaSeconds,
    }),
    'x-mesh-delivery-settings': clean({
      ackDeadlineSeconds: consumer.ackDeadlineSeconds,
      retry: consumer.retry,
      deadLetterMaxAttempts: consumer.deadLetter.maxAttempts,
      replayRetentionSeconds: consumer.replay?.retentionSeconds,
    }),
  });
}

/** The Pub/Sub message attributes as a JSON Schema object: every ATTR, the CloudEvents-required ones required. */
function headersSchema(topic: string, eventType: string, accepted: string[]): Record<string, unknown> {
  const properties: Record<string, Record<string, unknown>> = {};
  for (const [key, attribute] of Object.entries(ATTR)) {
    const property: Record<string, unknown> = { type: 'string', description: ATTRIBUTE_DOCS[key] ?? `CloudEvents context attribute ${attribute}.` };
    if (key === 'type') property.const = eventType;
    if (key === 'specversion') property.const = SPEC_VERSION;
    if (key === 'schemaVersion') {
      property.enum = accepted;
      property.deprecated = true;
    }
    if (key === 'dataschema') property.enum = accepted.map((revision) => dataSchemaUri(topic, revision));
    // The W3C form (trace-context.ts checks it with @opentelemetry/core); anything else is poison.
    if (key === 'traceparent') property.pattern = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';
    if (key === 'time') property.format = 'date-time';
    // What the envelope accepts (pubsub-binding.ts): JSON, or a JSON-based type such as application/cloudevents+json.
    if (key === 'contentType') property.pattern = '^application/(.+\\+)?json';
    properties[attribute] = property;
  }
  const required = CLOUDEVENTS_REQUIRED.filter((k) => k in ATTR).map((k) => (ATTR as Record<string, string>)[k]);
  // Producers' CloudEvents extensions: ce-<lowercase letters and digits> (envelope/extensions.ts), each reaching event.extensions and the warehouse.
  const patternProperties = {
    '^ce-[a-z0-9]+$': {
      type: 'string',
      maxLength: 1024,
      description: 'A CloudEvents extension attribute; consumers read it as event.extensions, the warehouse keeps it in its extensions column.',
    },
  };
  return { type: 'object', properties, patternProperties, required };
}

/** The attributes an example message carries: every one with a sample value (ones unknown here are left out). */
export function exampleHeaders(topic: string, eventType: string, revision: string): Record<string, string> {
  const values: Partial<Record<string, string>> = {
    id: '01890a5d-ac96-774b-bcce-b302099a8057',
    type: eventType,
    source: `//example/${topic}-producer`,
    time: '2026-01-15T09:30:00Z',
    specversion: SPEC_VERSION,
    dataschema: dataSchemaUri(topic, revision),
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    contentType: 'application/json',
  };
  const headers: Record<string, string> = {};
  for (const [key, attribute] of Object.entries(ATTR)) {
    const value = values[key];
    if (value !== undefined) headers[attribute] = value;
  }
  return headers;
}

const ownerTag = (owner: string) => `owner:${owner}`;

function ownerContacts(channels: MeshSpec['owners'][string]['channels']): string[] {
  return channels.map((c) => (c.kind === 'email' ? `mailto:${c.address}` : c.kind === 'pubsub' ? `pubsub:${c.topic}` : c.name));
}

/** Drops undefined values, so that the document is the same whether it is written as JSON or YAML. */
function clean<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}
