/**
 * Per-consumer health: how far behind each consumer is and what it dead-lettered, against the
 * spec's lag SLO. In GCP it comes from Cloud Monitoring; on the emulators (which have no metrics)
 * from an equivalent local measure (local.ts).
 */
export interface ConsumerHealth {
  consumer: string;
  topic: string;
  /** Messages published to the topic that the consumer has not acked yet. */
  backlog: number;
  /** Age of the oldest of them in seconds; null when the backlog is empty. */
  oldestUnackedSeconds: number | null;
  /** Messages waiting in the consumer's dead-letter hold subscription. */
  deadLettered: number;
  slo: { oldestUnackedSeconds: number; backlog: number };
  /** Past either SLO threshold, or anything dead-lettered. */
  breached: boolean;
  source: 'cloud-monitoring' | 'local';
}

export interface HealthSource {
  read(): Promise<ConsumerHealth[]>;
  close(): Promise<void>;
}

export function judge(h: Omit<ConsumerHealth, 'breached'>): ConsumerHealth {
  const breached = h.backlog > h.slo.backlog || (h.oldestUnackedSeconds ?? 0) > h.slo.oldestUnackedSeconds || h.deadLettered > 0;
  return { ...h, breached };
}
