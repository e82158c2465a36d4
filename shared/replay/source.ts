/**
 * Where a replay reads its events: the warehouse's `<topic>_events_dedup` view, each event's first
 * published copy, in publish order, through the same BigQuery client locally and in GCP.
 *
 * Why the warehouse and not Pub/Sub seek: a seek rewinds the consumer's own subscription, so the
 * replay would travel its real-time path (no isolation, no ceiling) and every message since the
 * seek time would come again, whatever its key or type; and it reaches back only as far as the
 * subscription retains acked messages (7 days at most). The warehouse keeps every event for as
 * long as its tables do, and filters by time, key and type. What it cannot have is what it has not
 * loaded yet: `coverage` says up to when it holds events, and the plan names a range that reaches
 * past it (docs/operations.md).
 *
 * The payload column holds the event as read in the topic's current revision, so a replayed
 * message says that revision (`ce-dataschema`, and no deprecated `ce-schemaversion` that could
 * disagree with it), whatever its producer wrote. Extensions and trace context are stored attributes
 * and travel again unchanged.
 */
import { bucketAttribute, bucketIn } from '../canary/routing';
import type { BigQuery } from '@google-cloud/bigquery';
import { ATTR, dataschemaAttribute } from '../envelope';
import { TopicSchemas } from '../schemas/topic-schemas';
import type { MeshSpec } from '../spec/types';
import { eventsDedupViewName, FIRST_PUBLISHED, timestampText } from '../warehouse';
import { REPLAY_ID_ATTRIBUTE, type ReplayScope } from './request';

/** Where a replay got to: the last event sent, in the order events are sent. */
export interface ReplayCheckpoint {
  /** Publish time of the last event sent, ISO with microseconds as BigQuery stores it. */
  publishTime: string;
  eventId: string;
}

/** One event to send again. */
export interface ReplayMessage {
  eventId: string;
  type: string;
  publishTime: string;
  orderingKey?: string;
  data: Buffer;
  attributes: Record<string, string>;
}

export interface ScopeSummary {
  events: number;
  perType: Record<string, number>;
  keys: number;
  /** Event ids in scope, when asked for (to count what a consumer has already applied). */
  eventIds?: string[];
}

export interface Coverage {
  /** Publish time of the oldest and newest event the warehouse holds for the topic (ISO), if any. */
  oldest?: string;
  newest?: string;
}

/** The clauses that pick a scope's keys (none when it names no keys). */
function keyFilter(scope: ReplayScope): { clauses: string[]; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (scope.keys) {
    clauses.push('ordering_key IN UNNEST(@keys)');
    params.keys = scope.keys;
  }
  if (scope.keyRange) {
    clauses.push('ordering_key >= @keyFirst', 'ordering_key < @keyLast');
    Object.assign(params, { keyFirst: scope.keyRange.first, keyLast: scope.keyRange.last });
  }
  return { clauses, params };
}

/** The WHERE clause and parameters of a scope, after an optional checkpoint. */
export function scopeFilter(scope: ReplayScope, after?: ReplayCheckpoint): { where: string; params: Record<string, unknown> } {
  const keys = keyFilter(scope);
  const clauses = ['publish_time >= @from', 'publish_time < @to', ...keys.clauses];
  const params: Record<string, unknown> = { from: new Date(scope.from), to: new Date(scope.to), ...keys.params };
  if (scope.types) {
    clauses.push('event_type IN UNNEST(@types)');
    params.types = scope.types;
  }
  if (after) {
    clauses.push('(publish_time > @afterTime OR (publish_time = @afterTime AND event_id > @afterId))');
    Object.assign(params, { afterTime: after.publishTime, afterId: after.eventId });
  }
  return { where: clauses.join(' AND '), params };
}

export class WarehouseReplaySource {
  constructor(
    private readonly bigquery: BigQuery,
    private readonly spec: MeshSpec,
    private readonly project: string,
  ) {}

  /** Each event's first published copy (the view keeps one per event id and time). */
  private firstCopies(topic: string): string {
    const view = `\`${this.project}.${this.spec.warehouse.dataset}.${eventsDedupViewName(topic)}\``;
    return `(SELECT * FROM ${view} WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY ${FIRST_PUBLISHED}) = 1)`;
  }

  private async query<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const [rows] = await this.bigquery.query({ query, params, location: this.spec.warehouse.location });
    return rows as T[];
  }

  async coverage(topic: string): Promise<Coverage> {
    const [row] = await this.query<{ oldest: unknown; newest: unknown }>(
      `SELECT MIN(publish_time) AS oldest, MAX(publish_time) AS newest FROM ${this.firstCopies(topic)}`,
      {},
    );
    return { oldest: row?.oldest ? timestampText(row.oldest) : undefined, newest: row?.newest ? timestampText(row.newest) : undefined };
  }

  /** What the scope holds: events per type and distinct ordering keys. */
  async summary(scope: ReplayScope, options: { eventIds?: boolean } = {}): Promise<ScopeSummary> {
    const { where, params } = scopeFilter(scope);
    const rows = await this.query<{ event_type: string | null; events: number }>(
      `SELECT event_type, COUNT(*) AS events FROM ${this.firstCopies(scope.topic)} WHERE ${where} GROUP BY event_type`,
      params,
    );
    const [keys] = await this.query<{ keys: number }>(
      `SELECT COUNT(DISTINCT ordering_key) AS keys FROM ${this.firstCopies(scope.topic)} WHERE ${where}`,
      params,
    );
    const summary: ScopeSummary = {
      events: rows.reduce((sum, r) => sum + Number(r.events), 0),
      perType: Object.fromEntries(rows.map((r) => [r.event_type ?? '(none)', Number(r.events)])),
      keys: Number(keys?.keys ?? 0),
    };
    if (options.eventIds) {
      const ids = await this.query<{ event_id: string }>(`SELECT event_id FROM ${this.firstCopies(scope.topic)} WHERE ${where}`, params);
      summary.eventIds = ids.map((r) => r.event_id);
    }
    return summary;
  }

  /** The distinct ordering keys of the scope's events. */
  async keys(scope: ReplayScope): Promise<string[]> {
    const { where, params } = scopeFilter(scope);
    const rows = await this.query<{ k: string }>(
      `SELECT DISTINCT ordering_key AS k FROM ${this.firstCopies(scope.topic)} WHERE ${where} AND ordering_key IS NOT NULL`,
      params,
    );
    return rows.map((r) => r.k).sort();
  }

  /** Events of the scope's keys outside its time range or of types it leaves out: what a rebuild of those keys would lose. */
  async outsideScope(scope: ReplayScope): Promise<number> {
    const keys = keyFilter(scope);
    const outside = ['publish_time < @from', 'publish_time >= @to', ...(scope.types ? ['event_type NOT IN UNNEST(@types)'] : [])].join(' OR ');
    const [row] = await this.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${this.firstCopies(scope.topic)} WHERE ${[...keys.clauses, `(${outside})`].join(' AND ')}`,
      { ...keys.params, from: new Date(scope.from), to: new Date(scope.to), ...(scope.types ? { types: scope.types } : {}) },
    );
    return Number(row?.n ?? 0);
  }

  /** The scope's events in publish order (event id breaks ties), `pageSize` at a time, after `after`. */
  async *pages(scope: ReplayScope, replayId: string, after?: ReplayCheckpoint, pageSize = 500): AsyncGenerator<ReplayMessage[]> {
    const revision = TopicSchemas.load(this.spec.topics[scope.topic]).current.name;
    let checkpoint = after;
    for (;;) {
      const { where, params } = scopeFilter(scope, checkpoint);
      const rows = await this.query<StoredRow>(
        `SELECT event_id, event_type, publish_time, ordering_key, attributes, data FROM ${this.firstCopies(scope.topic)}
         WHERE ${where} ORDER BY publish_time, event_id LIMIT ${Math.max(1, Math.floor(pageSize))}`,
        params,
      );
      if (!rows.length) return;
      const page = rows.map((r) => messageOf(r, replayId, scope.topic, revision));
      yield page;
      const last = page[page.length - 1];
      checkpoint = { publishTime: last.publishTime, eventId: last.eventId };
      if (rows.length < pageSize) return;
    }
  }
}

interface StoredRow {
  event_id: string;
  event_type: string | null;
  publish_time: unknown;
  ordering_key: string | null;
  attributes: unknown;
  data: unknown;
}

/** JSON columns come back as text or parsed, depending on the client and endpoint. */
const jsonText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value ?? null));

/** The message a stored event is sent as: its attributes, its payload, its ordering key, and the replay's id. */
export function messageOf(row: StoredRow, replayId: string, topic: string, revision: string): ReplayMessage {
  const stored = JSON.parse(jsonText(row.attributes ?? '{}')) as Record<string, unknown>;
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(stored ?? {})) if (typeof value === 'string') attributes[key] = value;
  delete attributes[ATTR.schemaVersion];
  Object.assign(attributes, dataschemaAttribute(topic, revision));
  attributes[REPLAY_ID_ATTRIBUTE] = replayId;
  // Events published before the publisher wrote buckets (or by a raw client) get the one it would have.
  if (bucketIn(attributes) === undefined) Object.assign(attributes, bucketAttribute(row.event_id, row.ordering_key ?? undefined));
  return {
    eventId: row.event_id,
    type: row.event_type ?? '',
    publishTime: timestampText(row.publish_time),
    ...(row.ordering_key ? { orderingKey: row.ordering_key } : {}),
    data: Buffer.from(jsonText(row.data)),
    attributes,
  };
}
