/**
 * The reference side of parity: the warehouse's `<topic>_events_dedup` views (one row per event id),
 * read with the same BigQuery client locally (DuckDB behind BigQuery's REST API) and in GCP. Window
 * counts are aggregated in BigQuery; ids are only read for a window or entity that disagrees.
 *
 * Cost in GCP: the window queries filter on event_time, the tables' partitioning column, so they scan
 * the range's partitions only; the entity queries (an order's, a post's, a user's events of all time)
 * scan the entity column of every partition.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import type { MeshSpec } from '../../shared/spec';
import { timestampText } from '../../shared/warehouse';
import { eventsDedupViewName, eventsTableSchema, FIRST_PUBLISHED, payloadColumnName } from '../../shared/warehouse';
import type { Granularity } from '../../services/dashboard/windows';

export interface WindowTypeCount {
  startMs: number;
  type: string;
  events: number;
}

/** One event as the warehouse stored it (its first published copy). */
export interface StoredEvent {
  id: string;
  type: string;
  /** ce-time, ISO. */
  time: string;
  publishTimeMs: number;
  /** Pub/Sub message id of the first copy: breaks publish-time ties (the emulator numbers messages in publish order). */
  messageId: string;
  data: Record<string, unknown>;
}

const TRUNC: Record<Granularity, string> = { minute: 'MINUTE', hour: 'HOUR' };

/** A TIMESTAMP as the client returns it (BigQueryTimestamp, Date or text) in ms. */
export function timestampMs(value: unknown): number {
  return Date.parse(timestampText(value));
}

/** Numeric ids by value (the emulator's 1, 2 ... 10), others as text. */
function byMessageId(a: string, b: string): number {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(BigInt(a) - BigInt(b) > 0n) - Number(BigInt(a) - BigInt(b) < 0n) : a.localeCompare(b);
}

export class WarehouseReference {
  constructor(
    private readonly bigquery: BigQuery,
    private readonly spec: MeshSpec,
    private readonly project: string,
  ) {}

  /** True when the topic's table has a column for payload field `field` (userId -> user_id). */
  hasField(topic: string, field: string): boolean {
    const column = payloadColumnName(field);
    return eventsTableSchema(this.spec.topics[topic]).some((c) => c.name === column);
  }

  private view(topic: string): string {
    return `\`${this.project}.${this.spec.warehouse.dataset}.${eventsDedupViewName(topic)}\``;
  }

  private async query<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const [rows] = await this.bigquery.query({ query, params, location: this.spec.warehouse.location });
    return rows as T[];
  }

  /**
   * The range's events, one row per event id: its first published copy. A producer that republishes
   * an id with a new ce-time makes a second row in the dedup view (which keeps one row per id AND
   * time); the consumers count the copy they saw first, nearly always the first published.
   */
  private firstCopies(topic: string): string {
    return `(SELECT * FROM ${this.view(topic)} WHERE event_time >= @from AND event_time < @to
       QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY ${FIRST_PUBLISHED}) = 1)`;
  }

  /** Events per window and type, for windows starting in [fromMs, toMs). */
  async windowCounts(topic: string, granularity: Granularity, fromMs: number, toMs: number): Promise<WindowTypeCount[]> {
    const rows = await this.query<{ window_start: unknown; event_type: string | null; events: number }>(
      `SELECT TIMESTAMP_TRUNC(event_time, ${TRUNC[granularity]}) AS window_start, event_type, COUNT(*) AS events
       FROM ${this.firstCopies(topic)} GROUP BY window_start, event_type`,
      { from: new Date(fromMs), to: new Date(toMs) },
    );
    return rows.map((r) => ({ startMs: timestampMs(r.window_start), type: r.event_type ?? '', events: Number(r.events) }));
  }

  /** Distinct values of payload field `field` per window (unique users). */
  async distinctPerWindow(topic: string, field: string, granularity: Granularity, fromMs: number, toMs: number): Promise<Map<number, number>> {
    const column = payloadColumnName(field);
    const rows = await this.query<{ window_start: unknown; n: number }>(
      `SELECT TIMESTAMP_TRUNC(event_time, ${TRUNC[granularity]}) AS window_start, COUNT(DISTINCT ${column}) AS n
       FROM ${this.firstCopies(topic)} WHERE ${column} IS NOT NULL AND ${column} != '' GROUP BY window_start`,
      { from: new Date(fromMs), to: new Date(toMs) },
    );
    return new Map(rows.map((r) => [timestampMs(r.window_start), Number(r.n)]));
  }

  /** Event ids of one type in [fromMs, toMs). */
  async ids(topic: string, type: string, fromMs: number, toMs: number): Promise<string[]> {
    const rows = await this.query<{ event_id: string }>(`SELECT event_id FROM ${this.firstCopies(topic)} WHERE event_type = @type ORDER BY event_id`, {
      from: new Date(fromMs),
      to: new Date(toMs),
      type,
    });
    return rows.map((r) => r.event_id);
  }

  /** Which of `ids` the warehouse has. */
  async has(topic: string, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM ${this.view(topic)} WHERE event_id IN UNNEST(@ids)`, { ids });
    return new Set(rows.map((r) => r.event_id));
  }

  /** Distinct values of payload field `field` among events in [fromMs, toMs), of `types` if given. */
  async entities(topic: string, field: string, fromMs: number, toMs: number, types?: string[]): Promise<string[]> {
    const column = payloadColumnName(field);
    const typeFilter = types ? 'AND event_type IN UNNEST(@types)' : '';
    const rows = await this.query<{ v: string }>(
      `SELECT DISTINCT ${column} AS v FROM ${this.view(topic)}
       WHERE event_time >= @from AND event_time < @to AND ${column} IS NOT NULL AND ${column} != '' ${typeFilter}`,
      { from: new Date(fromMs), to: new Date(toMs), ...(types ? { types } : {}) },
    );
    return rows.map((r) => r.v).sort();
  }

  /** Every stored event (all time) whose payload field `field` is one of `values`, in publish order. */
  async eventsOf(topic: string, field: string, values: string[]): Promise<StoredEvent[]> {
    if (!values.length) return [];
    const column = payloadColumnName(field);
    const rows = await this.query<{
      event_id: string;
      event_type: string;
      event_time: unknown;
      publish_time: unknown;
      message_id: string | null;
      data: unknown;
    }>(`SELECT event_id, event_type, event_time, publish_time, message_id, data FROM ${this.view(topic)} WHERE ${column} IN UNNEST(@values)`, { values });
    const first = new Map<string, StoredEvent>();
    for (const r of rows) {
      const e: StoredEvent = {
        id: r.event_id,
        type: r.event_type,
        time: new Date(timestampMs(r.event_time)).toISOString(),
        publishTimeMs: timestampMs(r.publish_time),
        messageId: r.message_id ?? '',
        data: (typeof r.data === 'string' ? JSON.parse(r.data) : (r.data ?? {})) as Record<string, unknown>,
      };
      // Copies of one id (republished with a new ce-time) apply once: the first published.
      const seen = first.get(e.id);
      if (!seen || (e.publishTimeMs - seen.publishTimeMs || byMessageId(e.messageId, seen.messageId)) < 0) first.set(e.id, e);
    }
    return [...first.values()].sort((a, b) => a.publishTimeMs - b.publishTimeMs || byMessageId(a.messageId, b.messageId) || a.id.localeCompare(b.id));
  }
}
