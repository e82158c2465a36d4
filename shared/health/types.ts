/**
 * Per-consumer health: how far behind each consumer is and what it dead-lettered, against the
 * spec's lag SLO and its subscription's retention (the buffer policy). In GCP it comes from Cloud
 * Monitoring; on the emulators (which have no metrics) from an equivalent local measure (local.ts).
 * Whether a consumer is paused is not the source's to know: the dashboard adds it from the consumer
 * controls (services/dashboard/health.ts) and judges again.
 */
import { BUFFER_WARN_RATIO } from '../spec/names';

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
   * How long the consumer's subscription keeps an unacked message (subscriptionRetentionSeconds):
   * past it Pub/Sub drops the message, so a paused or lagging consumer loses data.
   */
  retentionSeconds: number;
  /** Set while the consumer is paused (`mesh pause`, shared/operations/controls.ts): since when, by whom, why. */
  paused?: { since: string; owner: string; intent: string; operationId: string };
  /**
   * The consumer's private path (`<c>-redrive`: replays and redrives), measured like the real-time
   * one but apart from it: a replay's backlog is work it chose to take on, not lag, so it never
   * breaches the real-time SLO. Undefined when the source cannot tell.
   */
  privatePath?: { backlog: number; oldestUnackedSeconds: number | null };
  /** Past either lag SLO threshold (backlog or oldest unacked age); computed for paused consumers too. */
  breached: boolean;
  /** The oldest unacked message is at BUFFER_WARN_RATIO of the retention or older: data loss is near. */
  bufferAtRisk: boolean;
  /**
   * buffer-at-risk: the oldest message nears the retention (red, before all else: data is about to
   * be lost); paused: delivery stopped on purpose (neutral: its backlog and lag are expected, not a
   * breach to page for); breached: past the SLO (red); dead-letters: within the SLO but messages
   * wait in the dead-letter hold for someone to look at (amber: they are not lag, and a lag SLO must
   * not stay red for them); ok: none of these.
   */
  state: 'ok' | 'dead-letters' | 'breached' | 'paused' | 'buffer-at-risk';
  source: 'cloud-monitoring' | 'local';
}

export interface HealthSource {
  read(): Promise<ConsumerHealth[]>;
  close(): Promise<void>;
}

/** Derives breached, bufferAtRisk and state; a full ConsumerHealth may be judged again (their old values are replaced). */
export function judge(h: Omit<ConsumerHealth, 'breached' | 'bufferAtRisk' | 'state'>): ConsumerHealth {
  const breached = h.backlog > h.slo.backlog || (h.oldestUnackedSeconds ?? 0) > h.slo.oldestUnackedSeconds;
  const bufferAtRisk = h.oldestUnackedSeconds !== null && h.oldestUnackedSeconds >= BUFFER_WARN_RATIO * h.retentionSeconds;
  const state = bufferAtRisk ? 'buffer-at-risk' : h.paused ? 'paused' : breached ? 'breached' : h.deadLettered > 0 ? 'dead-letters' : 'ok';
  return { ...h, breached, bufferAtRisk, state };
}
