/**
 * Per-consumer health: how far behind each consumer is and what it dead-lettered, against the
 * spec's lag SLO and its subscription's retention (the buffer policy). In GCP it comes from Cloud
 * Monitoring; on the emulators (which have no metrics) from an equivalent local measure (local.ts).
 * Whether a consumer is paused is not the source's to know: the dashboard adds it from the consumer
 * controls (services/dashboard/health.ts) and judges again.
 */
import { BUFFER_WARN_RATIO } from '../spec/names';

/** A consumer's dead-letter hold, for triage. */
export interface HoldSummary {
  /** Dead letters waiting in the hold (the same number as ConsumerHealth.deadLettered). */
  held: number;
  /** Age of the oldest of them, seconds; null when none. */
  oldestSeconds: number | null;
  triageSlaSeconds: number;
  /** The oldest waited longer than the triage SLA (GCP pages its owner: `<c>-triage-sla`). */
  pastSla: boolean;
  /** The most frequent reasons among the held, most first (at most 3); absent when the source cannot tell (Cloud Monitoring). */
  topReasons?: { reason: string; count: number }[];
  /** Dead letters for a schema failure (SCHEMA_FAILURE_REASONS) in the last hour, held or not; absent when the source cannot tell. */
  schemaFailuresLastHour?: number;
}

export interface ConsumerHealth {
  consumer: string;
  topic: string;
  /** Messages published to the topic that the consumer has not acked yet. */
  backlog: number;
  /** Age of the oldest of them in seconds; null when the backlog is empty. */
  oldestUnackedSeconds: number | null;
  /** Messages waiting in the consumer's dead-letter hold subscription. */
  deadLettered: number;
  /** The hold for triage: its oldest against the triage SLA, and why (where the source can tell). */
  hold?: HoldSummary;
  /**
   * The topic's message retention (TopicSpec.retentionSeconds), when it has one: a replay from the
   * topic reaches back that far, so a consumer lagging past half of it is about to lose that way back.
   */
  topicRetentionSeconds?: number;
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
  /** The oldest unacked message is older than half the topic's retention (TOPIC_RETENTION_WARN_RATIO). */
  pastHalfTopicRetention: boolean;
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

/** Share of the topic's retention past which a lagging consumer is flagged (infra's `<c>-retention-half` alert too). */
export const TOPIC_RETENTION_WARN_RATIO = 0.5;

/** Derives breached, bufferAtRisk and state; a full ConsumerHealth may be judged again (their old values are replaced). */
export function judge(h: Omit<ConsumerHealth, 'breached' | 'bufferAtRisk' | 'pastHalfTopicRetention' | 'state'>): ConsumerHealth {
  const pastHalfTopicRetention =
    h.topicRetentionSeconds !== undefined && h.oldestUnackedSeconds !== null && h.oldestUnackedSeconds > TOPIC_RETENTION_WARN_RATIO * h.topicRetentionSeconds;
  const breached = h.backlog > h.slo.backlog || (h.oldestUnackedSeconds ?? 0) > h.slo.oldestUnackedSeconds;
  const bufferAtRisk = h.oldestUnackedSeconds !== null && h.oldestUnackedSeconds >= BUFFER_WARN_RATIO * h.retentionSeconds;
  const state = bufferAtRisk ? 'buffer-at-risk' : h.paused ? 'paused' : breached ? 'breached' : h.deadLettered > 0 ? 'dead-letters' : 'ok';
  return { ...h, breached, bufferAtRisk, pastHalfTopicRetention, state };
}
