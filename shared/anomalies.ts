/**
 * Order anomalies as a signal, the contract between the service that detects them and everything
 * that watches them: the kinds, and the structured log line each one is written as. In GCP a
 * log-based metric counts those lines per topic and kind and an alert policy fires on them
 * (infra/anomalies.ts); Firestore keeps the exact counts (shared/firestore/anomalies.ts).
 */

/**
 * What can be wrong with an event of an ordered lifecycle (services/processor/orders.ts):
 * `gap` (sequence numbers missing), `stale` (an old sequence number), `invalid-transition`
 * (shipped before paid ...), `unknown-order` (a step for an order never created).
 */
export const ANOMALY_KINDS = ['gap', 'stale', 'invalid-transition', 'unknown-order'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** The service whose Cloud Run logs carry the anomaly lines. */
export const ANOMALY_SOURCE_SERVICE = 'processor';

/** The JSON field of the log line: `{"anomaly": {"topic", "kind", "orderId"}, ...}` (jsonPayload.anomaly in Cloud Logging). */
export const ANOMALY_LOG_FIELD = 'anomaly';

export interface AnomalyLogFields {
  topic: string;
  kind: AnomalyKind;
  orderId: string;
}

/**
 * The log-based metric's name; Cloud Monitoring sees it as `logging.googleapis.com/user/<name>`.
 * Its labels are the topic and the kind only: an order id per label value would make a time series
 * per order (Monitoring limits the active series of a metric), so the ids live in Firestore.
 */
export const ANOMALY_METRIC = 'event-mesh/anomalies';
export const ANOMALY_METRIC_LABELS = ['topic', 'kind'] as const;

/** Metric type of a user-defined log-based metric, as alert and chart filters name it. */
export const logMetricType = (name: string) => `logging.googleapis.com/user/${name}`;
