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
  /**
   * The consumer's private path (`<c>-redrive`: replays and redrives), measured like the real-time
   * one but apart from it: a replay's backlog is work it chose to take on, not lag, so it never
   * breaches the real-time SLO. Undefined when the source cannot tell.
   */
  privatePath?: { backlog: number; oldestUnackedSeconds: number | null };
  /** Past either lag SLO threshold (backlog or oldest unacked age). */
  breached: boolean;
  /**
   * breached: past the SLO (red); dead-letters: within the SLO but messages wait in the dead-letter
   * hold for someone to look at (amber: they are not lag, and a lag SLO must not stay red for them);
   * ok: neither.
   */
  state: 'ok' | 'dead-letters' | 'breached';
  source: 'cloud-monitoring' | 'local';
}

export interface HealthSource {
  read(): Promise<ConsumerHealth[]>;
  close(): Promise<void>;
}

export function judge(h: Omit<ConsumerHealth, 'breached' | 'state'>): ConsumerHealth {
  const breached = h.backlog > h.slo.backlog || (h.oldestUnackedSeconds ?? 0) > h.slo.oldestUnackedSeconds;
  return { ...h, breached, state: breached ? 'breached' : h.deadLettered > 0 ? 'dead-letters' : 'ok' };
}
