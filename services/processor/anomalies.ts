/**
 * Order anomalies as signals, the processor's side: the record committed with the event
 * (shared/firestore/anomalies.ts lays it out), the structured log line the GCP metric counts
 * (shared/anomalies.ts), and this instance's counts for /stats.
 */
import type { Logger } from '../../shared/consumer';
import { ANOMALY_LOG_FIELD, type AnomalyKind, type AnomalyLogFields } from '../../shared/anomalies';
import type { AnomalyRecord } from '../../shared/firestore';
import type { OrderAnomaly } from './orders';

/** What the Firestore counters and log need of an anomaly. */
export function anomalyRecord(anomaly: OrderAnomaly, topic: string, consumer: string, detectedAtMs: number): AnomalyRecord {
  return {
    topic,
    consumer,
    kind: anomaly.kind,
    orderId: anomaly.orderId,
    eventId: anomaly.eventId,
    type: anomaly.type,
    reason: anomaly.reason,
    time: anomaly.time,
    detectedAtMs,
  };
}

/**
 * One WARNING line per anomaly, `anomaly: {topic, kind, orderId}` for the log-based metric (its labels
 * are topic and kind). Logged once the commit holding it succeeded, so a redelivery (a duplicate) logs
 * nothing; a crash between the commit and this line loses the line, not the count in Firestore.
 */
export function logAnomaly(log: Logger, topic: string, anomaly: OrderAnomaly): void {
  const fields: AnomalyLogFields = { topic, kind: anomaly.kind, orderId: anomaly.orderId };
  log.warn(
    { [ANOMALY_LOG_FIELD]: fields, eventId: anomaly.eventId, type: anomaly.type, sequence: anomaly.sequence, reason: anomaly.reason },
    `order anomaly: ${anomaly.reason}`,
  );
}

/** This instance's anomalies since it started, per topic and kind (the `anomalies` section of /stats). */
export class AnomalyTally {
  private readonly counts = new Map<string, Map<AnomalyKind, number>>();

  record(topic: string, kind: AnomalyKind): void {
    let byKind = this.counts.get(topic);
    if (!byKind) this.counts.set(topic, (byKind = new Map()));
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }

  snapshot(): Record<string, Partial<Record<AnomalyKind, number>>> {
    return Object.fromEntries([...this.counts].map(([topic, byKind]) => [topic, Object.fromEntries(byKind)]));
  }
}
