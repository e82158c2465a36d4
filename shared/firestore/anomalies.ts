/**
 * Where order anomalies are counted in Firestore, what the processor writes there and how everyone
 * else reads it (the dashboard, `mesh status`, `mesh parity`). The processor commits these writes in
 * the same batch as the event's dedup record (services/processor/store.ts), so a redelivered event
 * never counts twice and an acked one always counted.
 *
 *   anomalyCounts/<hour>_<topic>_<shard>   {topic, window, start, shard, total, kinds.<kind>, expiresAt}
 *   anomalyLog/<eventId>                   {topic, consumer, kind, orderId, eventId, type, reason, time, detectedAt, expiresAt}
 *
 * Counters are per hour window and sharded: a Firestore document takes about one write a second,
 * sustained, and the processor commits each event on its own (its atomicity is per event), so a
 * burst of anomalies on one topic would otherwise queue on one document. With ANOMALY_SHARDS
 * documents per topic and hour (the shard is FNV-1a of the event id) a topic takes ~16 anomalies a
 * second before a shard passes the limit; beyond it commits slow down and fail as transient (the event
 * is redelivered, the count stays exact). Hour windows keep every document small and let a reader
 * ask for a period (`since`, rounded down to the hour) with a range query on `start`.
 *
 * The log holds one document per anomaly (no hot document at all), read newest first by
 * `detectedAt` (its automatic single-field index; an increasing timestamp index takes ~500
 * writes/s, far above any anomaly rate). Both carry `expiresAt` (35 days after the window or the
 * detection): infra puts TTL policies on them (infra/firestore.ts). The names differ from the
 * per-order `orders/<id>/anomalies` records, so collection-group queries never mix them.
 *
 * Plain paths and data, no client: the writer passes Firestore's increment and timestamp in.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { AnomalyKind } from '../anomalies';
import { docId, shardOf } from './ids';
import { EXPIRY_FIELD } from './layout';

export const ANOMALY_COLLECTIONS = {
  /** anomalyCounts/<hour>_<topic>_<shard>: summed counts of one topic in one hour window. */
  counts: 'anomalyCounts',
  /** anomalyLog/<eventId>: one document per anomaly, for "the latest offending orders". */
  log: 'anomalyLog',
} as const;

export const ANOMALY_SHARDS = 16;
export const ANOMALY_WINDOW_MS = 3600_000;
/** How long counts and log entries are kept after their window / detection. */
export const ANOMALY_TTL_MS = 35 * 24 * 3600_000;
export const ANOMALY_EXPIRY_FIELD = EXPIRY_FIELD;

/** The hour window holding `ms`: its start and its key (`2024-05-01T13`, the dashboard's hour key). */
export function anomalyWindow(ms: number): { start: number; key: string } {
  const start = Math.floor(ms / ANOMALY_WINDOW_MS) * ANOMALY_WINDOW_MS;
  return { start, key: new Date(start).toISOString().slice(0, 13) };
}

export const anomalyPaths = {
  counts: () => ANOMALY_COLLECTIONS.counts,
  count: (window: string, topic: string, shard: number) => `${ANOMALY_COLLECTIONS.counts}/${window}_${docId(topic, 'topic')}_${shard}`,
  log: () => ANOMALY_COLLECTIONS.log,
  entry: (eventId: string) => `${ANOMALY_COLLECTIONS.log}/${docId(eventId, 'event id')}`,
};

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
  /** When it was detected (the detector's clock): chooses the window. */
  detectedAtMs: number;
}

/** Firestore's sentinels, passed in by the writer (FieldValue.increment, Timestamp.fromMillis). */
export interface AnomalyWriteValues {
  increment: (n: number) => unknown;
  timestamp: (ms: number) => unknown;
}

export interface AnomalyWrite {
  path: string;
  data: Record<string, unknown>;
  /** set() with {merge: true}: counters add to what is there. */
  merge: boolean;
}

/** The two writes of one anomaly: its shard's counters (+1 total, +1 kind) and its log entry. */
export function anomalyWrites(a: AnomalyRecord, values: AnomalyWriteValues): AnomalyWrite[] {
  const window = anomalyWindow(a.detectedAtMs);
  const shard = shardOf(a.eventId, ANOMALY_SHARDS);
  return [
    {
      path: anomalyPaths.count(window.key, a.topic, shard),
      data: {
        topic: a.topic,
        window: window.key,
        start: values.timestamp(window.start),
        shard,
        total: values.increment(1),
        kinds: { [a.kind]: values.increment(1) },
        [ANOMALY_EXPIRY_FIELD]: values.timestamp(window.start + ANOMALY_WINDOW_MS + ANOMALY_TTL_MS),
      },
      merge: true,
    },
    {
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
      merge: false,
    },
  ];
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
  /** Start of the first hour window counted (`since` rounded down to the hour), or null: everything kept. */
  since: string | null;
  total: number;
  /** topic -> kind -> count; only what occurred. */
  counts: Record<string, Record<string, number>>;
  /** The latest offending events (detected since `since`, unrounded), newest first. */
  latest: AnomalyEntry[];
}

export interface ReadAnomaliesOptions {
  /** Count from the hour window holding this time; default everything kept (35 days). */
  since?: Date | number | string;
  /** How many of the latest offending events; default 10, at most 100. */
  latest?: number;
}

type Stored = { toMillis(): number } | null | undefined;
const iso = (value: Stored) => (value ? new Date(value.toMillis()).toISOString() : '');

/**
 * Counts per topic and kind, and the latest offending events. Reads the count documents of the
 * windows asked for (at most ANOMALY_SHARDS per topic and hour, and only where anomalies occurred)
 * and `latest` log entries.
 */
export async function readAnomalies(db: Firestore, options: ReadAnomaliesOptions = {}): Promise<AnomalyReport> {
  const latestN = options.latest ?? 10;
  if (!Number.isInteger(latestN) || latestN < 0 || latestN > 100) throw new RangeError(`latest must be an integer 0..100, got ${latestN}`);
  let sinceMs: number | undefined;
  if (options.since !== undefined) {
    sinceMs = options.since instanceof Date ? options.since.getTime() : typeof options.since === 'number' ? options.since : Date.parse(options.since);
    if (!Number.isFinite(sinceMs)) throw new RangeError(`since must be a time, got ${String(options.since)}`);
  }
  const windowStart = sinceMs === undefined ? undefined : anomalyWindow(sinceMs).start;
  const countsQuery = db.collection(anomalyPaths.counts());
  let logQuery = db.collection(anomalyPaths.log()).orderBy('detectedAt', 'desc');
  if (sinceMs !== undefined) logQuery = logQuery.where('detectedAt', '>=', new Date(sinceMs));
  const [countDocs, logDocs] = await Promise.all([
    (windowStart === undefined ? countsQuery : countsQuery.where('start', '>=', new Date(windowStart))).get(),
    latestN ? logQuery.limit(latestN).get() : Promise.resolve(undefined),
  ]);

  const counts: Record<string, Record<string, number>> = {};
  let total = 0;
  for (const doc of countDocs.docs) {
    const topic = String(doc.get('topic'));
    const kinds = (doc.get('kinds') ?? {}) as Record<string, number>;
    const byKind = (counts[topic] ??= {});
    for (const [kind, n] of Object.entries(kinds)) {
      byKind[kind] = (byKind[kind] ?? 0) + Number(n);
      total += Number(n);
    }
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
  return { since: windowStart === undefined ? null : new Date(windowStart).toISOString(), total, counts, latest };
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
