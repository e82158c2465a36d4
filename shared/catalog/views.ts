/**
 * What the catalog page shows, read back from the AsyncAPI document itself (never from the spec),
 * so the page and `mesh catalog` cannot disagree: per topic its event types with an example payload
 * per schema revision, who consumes it, and its schema history as diffs between revisions.
 */
import { type AvroObject } from './avro';
import { revisionHistory, type RevisionDiff } from './diff';
import { buildCatalog, exampleHeaders, messageKey, type AsyncApiDocument } from './document';
import { examplePayload } from './examples';
import type { MeshSpec } from '../spec';

export interface CatalogExample {
  revision: string;
  headers: Record<string, string>;
  payload: Record<string, unknown>;
}

export interface CatalogEventType {
  type: string;
  /** components.messages key. */
  message: string;
  /** One example per revision, oldest first. */
  examples: CatalogExample[];
}

export interface CatalogConsumer {
  name: string;
  delivery: string;
  service?: string;
  table?: string;
  ordering: boolean;
  exactlyOnce: boolean;
  filter?: string;
  owner?: string;
  reads: string[];
  readsDeclared: boolean;
  slo: { oldestUnackedSeconds: number; backlog: number; rtoSeconds?: number; rpoSeconds?: number };
  description?: string;
}

export interface CatalogRevision {
  revision: string;
  accepted: boolean;
  /** The .avsc JSON. */
  schema: AvroObject;
}

export interface CatalogTopic {
  name: string;
  description?: string;
  owner?: string;
  retentionSeconds?: number;
  orderingKeyField?: string;
  compatibility?: string;
  currentRevision?: string;
  revisions: CatalogRevision[];
  eventTypes: CatalogEventType[];
  consumers: CatalogConsumer[];
  /** Each revision against the one before it. */
  history: RevisionDiff[];
}

/** GET /catalog.json: the document and the views derived from it. */
export interface CatalogPage {
  document: AsyncApiDocument;
  owners: Record<string, string[]>;
  topics: CatalogTopic[];
}

export function catalogPage(spec: MeshSpec): CatalogPage {
  return catalogViews(buildCatalog(spec));
}

export function catalogViews(document: AsyncApiDocument): CatalogPage {
  const topics: CatalogTopic[] = [];
  for (const [name, channel] of Object.entries(document.channels)) {
    const revisions = ((channel['x-mesh-schema-revisions'] ?? []) as { revision: string; accepted: boolean; schema: string }[]).map((r) => ({
      revision: r.revision,
      accepted: r.accepted,
      schema: document.components.schemas[r.schema.replace('#/components/schemas/', '')].schema as AvroObject,
    }));
    const eventTypes = Object.keys((channel.messages ?? {}) as Record<string, unknown>).map((type) => ({
      type,
      message: messageKey(name, type),
      examples: revisions.map((r) => ({
        revision: r.revision,
        headers: exampleHeaders(name, type, r.revision),
        payload: examplePayload(r.schema, type),
      })),
    }));
    const consumers = Object.entries(document.operations)
      .filter(([, op]) => op.action === 'receive' && (op.channel as { $ref: string }).$ref === `#/channels/${name}`)
      .map(([consumer, op]) => consumerView(consumer, op));
    topics.push({
      name,
      description: channel.description as string | undefined,
      owner: channel['x-mesh-owner'] as string | undefined,
      retentionSeconds: channel['x-mesh-retention-seconds'] as number | undefined,
      orderingKeyField: channel['x-mesh-ordering-key-field'] as string | undefined,
      compatibility: channel['x-mesh-compatibility'] as string | undefined,
      currentRevision: channel['x-mesh-current-revision'] as string | undefined,
      revisions,
      eventTypes,
      consumers,
      history: revisionHistory(revisions.map((r) => ({ revision: r.revision, schema: r.schema }))),
    });
  }
  return { document, owners: (document.info['x-mesh-owners'] ?? {}) as Record<string, string[]>, topics };
}

function consumerView(name: string, op: Record<string, unknown>): CatalogConsumer {
  return {
    name,
    delivery: op['x-mesh-delivery'] as string,
    service: op['x-mesh-service'] as string | undefined,
    table: op['x-mesh-table'] as string | undefined,
    ordering: op['x-mesh-ordering'] === true,
    exactlyOnce: op['x-mesh-exactly-once'] === true,
    filter: op['x-mesh-filter'] as string | undefined,
    owner: op['x-mesh-owner'] as string | undefined,
    reads: (op['x-mesh-reads'] ?? []) as string[],
    readsDeclared: op['x-mesh-reads-declared'] === true,
    slo: op['x-mesh-slo'] as CatalogConsumer['slo'],
    description: op.description as string | undefined,
  };
}
