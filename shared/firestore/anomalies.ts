/**
 * Where order anomalies are kept in Firestore, what the processor writes there and how everyone
 * else reads it (the dashboard, `mesh status`, `mesh parity`). The processor commits the entry in
 * the same batch as the event's dedup record (services/processor/store.ts), so an acked event always
 * has its entry, and a redelivered or replayed one writes the same document again (its id is the
 * event id): counted once per event, whatever the redeliveries, replays or rebuilds.
 *
 *   anomalyLog/<eventId>   {topic, consumer, kind, orderId, eventId, type, reason, time, detectedAt, expiresAt}
 *
 * Counts are read from the log, not kept beside it: `count()` aggregation queries per topic and kind
 * ("Cloud Firestore calculates the aggregation and transmits only the result"; billed one document
 * read per batch of up to 1,000 index entries matched,
 * https://firebase.google.com/docs/firestore/query-data/aggregation-queries and
 * https://cloud.google.com/firestore/pricing). Earlier versions also incremented sharded counter
 * documents (`anomalyCounts`, 16 per topic and hour) in each anomaly's commit. "You can't update a
 * single document at an unlimited rate" (https://cloud.google.com/firestore/docs/solutions/counters),
 * so an anomaly storm (a replay of an already-applied history, a producer bug) queued every
 * anomaly's commit on 16 documents; on the emulator 8,169 commits waited in its lock manager and
 * valid real-time events beside them timed out and were dead-lettered (docs/operations.md). The log
 * has no hot document: its one limit is the index on the increasing `detectedAt`, ~500 writes/s
 * ("If a collection contains documents with sequential indexed values, Cloud Firestore limits the
 * write rate to 500 writes per second", https://firebase.google.com/docs/firestore/solutions/shard-timestamp),
 * past which commits slow rather than fail.
 *
 * Counting by topic, kind and time needs the composite index (topic, kind, detectedAt) that infra
 * creates (infra/firestore.ts; the emulator needs none). Entries carry `expiresAt` (35 days after
 * detection) and a TTL policy deletes them. The names differ from the per-order
 * `orders/<id>/anomalies` records, so collection-group queries never mix them.
 *
 * Plain paths and data, no client: the writer passes Firestore's timestamp in.
 */
import type { Firestore } from '@google-cloud/firestore';
import { ANOMALY_KINDS, type AnomalyKind } from '../anomalies';
import { docId } from './ids';
import { EXPIRY_FIELD } from './layout';

export const ANOMALY_COLLECTIONS = {
  /** anomalyLog/<eventId>: one document per anomaly; counts and "the latest offending orders". */
  log: 'anomalyLog',
} as const;

/**
 * Counter documents earlier versions wrote. Nothing writes or reads them now; infra keeps their TTL
 * policy so the ones already written still expire.
 */
export const RETIRED_ANOMALY_COLLECTIONS = ['anomalyCounts'] as const;

/** The fields of the log's composite index, in order: equality on topic and kind, range on detectedAt. */
export const ANOMALY_COUNT_INDEX_FIELDS = ['topic', 'kind', 'detectedAt'] as const;

/** How long log entries are kept after their detection. */
export const ANOMALY_TTL_MS = 35 * 24 * 3600_000;
export const ANOMALY_EXPIRY_FIELD = EXPIRY_FIELD;

export const anomalyPaths = {
  log: () => ANOMALY_COLLECTIONS.log,
  entry: (eventId: string) => `${ANOMALY_COLLECTIONS.log}/${docId(eventId, 'event id')}`,
};

/** The topics whose anomalies a spec counts: those its anomaly-detecting service consumes. */
export function anomalyTopics(spec: { consumers: Record<string, { topic: string; service?: string }> }, service: string): string[] {
  return [
    ...new Set(
      Object.values(spec.consumers)
        .filter((c) => c.service === service)
        .map((c) => c.topic),
    ),
  ].sort();
}

/** One anomaly, as detected. */
export interface AnomalyRecord {
  topic: string;
  /** The consumer that detected it. */
  consumer: string;
  kind: AnomalyKind;
  orderId: string;
  eventId: string;
  /** The event type that caused it. */
  type: string;
  reason: string;
  /** The event's time (ce-time). */
  time: string;
  /** When it was detected (the detector's clock). */
  detectedAtMs: number;
}

/** Firestore's timestamp constructor, passed in by the writer (Timestamp.fromMillis). */
export interface AnomalyWriteValues {
  timestamp: (ms: number) => unknown;
}

export interface AnomalyWrite {
  path: string;
  data: Record<string, unknown>;
}

/** The one write of an anomaly: its log entry, a plain set() (the same event writes the same entry). */
export function anomalyWrite(a: AnomalyRecord, values: AnomalyWriteValues): AnomalyWrite {
  return {
    path: anomalyPaths.entry(a.eventId),
    data: {
      topic: a.topic,
      consumer: a.consumer,
      kind: a.kind,
      orderId: a.orderId,
      eventId: a.eventId,
      type: a.type,
      reason: a.reason,
      time: a.time,
      detectedAt: values.timestamp(a.detectedAtMs),
      [ANOMALY_EXPIRY_FIELD]: values.timestamp(a.detectedAtMs + ANOMALY_TTL_MS),
    },
  };
}

/** One offending event, newest first in a report. */
export interface AnomalyEntry {
  topic: string;
  kind: string;
  orderId: string;
  eventId: string;
  type: string;
  reason: string;
  /** The event's time. */
  time: string;
  /** ISO time of detection. */
  detectedAt: string;
}

export interface AnomalyReport {
  /** From when anomalies are counted, or null: everything kept. */
  since: string | null;
  total: number;
  /** topic -> kind -> count; only what occurred. */
  counts: Record<string, Record<string, number>>;
  /** The latest offending events (detected since `since`), newest first. */
  latest: AnomalyEntry[];
}

export interface ReadAnomaliesOptions {
  /** Count anomalies detected from this time on; default everything kept (35 days). */
  since?: Date | number | string;
  /** How many of the latest offending events; default 10, at most 100. */
  latest?: number;
}

type Stored = { toMillis(): number } | null | undefined;
const iso = (value: Stored) => (value ? new Date(value.toMillis()).toISOString() : '');

/**
 * Counts per topic and kind, and the latest offending events. One `count()` per topic and kind
 * (`topics` x ANOMALY_KINDS queries, in parallel) and one query for `latest`.
 */
export async function readAnomalies(db: Firestore, topics: readonly string[], options: ReadAnomaliesOptions = {}): Promise<AnomalyReport> {
  const latestN = options.latest ?? 10;
  if (!Number.isInteger(latestN) || latestN < 0 || latestN > 100) throw new RangeError(`latest must be an integer 0..100, got ${latestN}`);
  let sinceMs: number | undefined;
  if (options.since !== undefined) {
    sinceMs = options.since instanceof Date ? options.since.getTime() : typeof options.since === 'number' ? options.since : Date.parse(options.since);
    if (!Number.isFinite(sinceMs)) throw new RangeError(`since must be a time, got ${String(options.since)}`);
  }
  const log = db.collection(anomalyPaths.log());
  const [topic, kind, detectedAt] = ANOMALY_COUNT_INDEX_FIELDS;
  const counting = topics.flatMap((t) =>
    ANOMALY_KINDS.map(async (k) => {
      let query = log.where(topic, '==', t).where(kind, '==', k);
      if (sinceMs !== undefined) query = query.where(detectedAt, '>=', new Date(sinceMs));
      return { topic: t, kind: k, n: (await query.count().get()).data().count };
    }),
  );
  let latestQuery = log.orderBy(detectedAt, 'desc');
  if (sinceMs !== undefined) latestQuery = latestQuery.where(detectedAt, '>=', new Date(sinceMs));
  const [countsFound, logDocs] = await Promise.all([Promise.all(counting), latestN ? latestQuery.limit(latestN).get() : Promise.resolve(undefined)]);

  const counts: Record<string, Record<string, number>> = {};
  let total = 0;
  for (const { topic: t, kind: k, n } of countsFound) {
    if (!n) continue;
    (counts[t] ??= {})[k] = n;
    total += n;
  }
  const latest: AnomalyEntry[] = (logDocs?.docs ?? []).map((doc) => ({
    topic: String(doc.get('topic')),
    kind: String(doc.get('kind')),
    orderId: String(doc.get('orderId')),
    eventId: String(doc.get('eventId')),
    type: String(doc.get('type')),
    reason: String(doc.get('reason')),
    time: String(doc.get('time')),
    detectedAt: iso(doc.get('detectedAt') as Stored),
  }));
  return { since: sinceMs === undefined ? null : new Date(sinceMs).toISOString(), total, counts, latest };
}

/**
 * One line for people (`mesh parity`, `mesh status`): "anomalies since <t>: 3 (orders: gap 1,
 * invalid-transition 2); latest o-17 (orders invalid-transition: shipped before paid)".
 */
export function describeAnomalies(report: AnomalyReport): string {
  const since = report.since ? `since ${report.since}` : 'kept';
  if (!report.total) return `anomalies ${since}: none`;
  const topics = Object.keys(report.counts)
    .sort()
    .map(
      (topic) =>
        `${topic}: ${Object.entries(report.counts[topic])
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ')}`,
    );
  const newest = report.latest[0];
  const latest = newest ? `; latest ${newest.orderId} (${newest.topic} ${newest.kind}: ${newest.reason})` : '';
  return `anomalies ${since}: ${report.total} (${topics.join('; ')})${latest}`;
}
