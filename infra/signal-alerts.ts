/**
 * The signals the operating model asks operators to watch besides lag, buffer and triage, from
 * Pub/Sub's own server-side metrics: one alert policy per spec topic or consumer, routed to its owner.
 *   <topic>-publish-failures  ERROR    publish requests to the topic that did not succeed, every minute for 5 minutes
 *   <c>-retries               WARNING  deliveries of the consumer that fail and come back (pull: nacks and expired ack
 *                                      deadlines; push: push requests not acked), over RETRIES_PER_MINUTE for 10 minutes
 *   <c>-retention-half        WARNING  its oldest unacked message is past half the topic's retention
 * Schema failures are counted from the consumer runtime's logs instead: schema-dead-letters.ts.
 *
 * Metric types, kinds and labels, from Google's list (https://cloud.google.com/monitoring/api/metrics_gcp_p_z,
 * pubsub; "When querying a label, use the metric.labels. prefix"):
 * - topic/send_request_count: DELTA INT64 on pubsub_topic, "Cumulative count of publish requests,
 *   grouped by result. Sampled every 60 seconds"; response_class "can be one of ['success', 'invalid', 'internal']".
 * - subscription/push_request_count: DELTA INT64, "Cumulative count of push attempts, grouped by result
 *   ... The push server retries on errors, so a given user message can appear multiple times";
 *   response_class "can be one of ['ack', 'deadline_exceeded', 'internal', 'invalid', 'remote_server_4xx',
 *   'remote_server_5xx', 'unreachable']".
 * - subscription/nack_requests: GAUGE INT64, "Cumulative count of messages that were nacked. One message
 *   nacked multiple times will be counted multiple times. Sampled every 60 seconds."
 * - subscription/expired_ack_deadlines_count: DELTA INT64, "Cumulative count of messages whose ack
 *   deadline expired while the message was outstanding to a subscriber client."
 * Google's guide names the same ones for these jobs (https://cloud.google.com/pubsub/docs/monitoring):
 * ack deadlines missed, "Pull and StreamingPull: subscription/expired_ack_deadlines_count; Push:
 * subscription/push_request_count filtered by response_code != "success""; for publishers,
 * "topic/send_request_count, grouped by response_code".
 *
 * Each is summed per minute (ALIGN_SUM: "valid for GAUGE and DELTA metrics"; ALIGN_RATE and ALIGN_DELTA
 * are "valid for CUMULATIVE and DELTA metrics" only, so they would not take nack_requests;
 * https://cloud.google.com/python/docs/reference/monitoring/latest/google.cloud.monitoring_v3.types.Aggregation.Aligner)
 * and the series of one topic or subscription (one per response code, delivery type ...) are added
 * up, so the threshold reads "per minute" for the topic or subscription as a whole.
 */
import * as gcp from '@pulumi/gcp';
import { approxDuration, consumerResources, formatDuration, toProtoDuration, type ConsumerSpec, type MeshSpec, type TopicSpec } from '../shared/spec';
import { runbookLine, type RunbookKind } from '../shared/operations/runbooks';
import { labelValue, meshLabels, resourceOptions } from './context';
import { ALIGNMENT, oldestUnackedPast, subscriptionMetricFilter } from './monitoring';
import { alertChannelsFor, type AlertingContext } from './owners';
import {
  PUBLISH_FAILURE_SUSTAIN_SECONDS,
  PUBLISH_FAILURES_PER_MINUTE,
  RETENTION_HALF_RATIO,
  RETRIES_PER_MINUTE,
  RETRY_SUSTAIN_SECONDS,
} from './signal-thresholds';
import { topicRetentionSeconds } from './topics';

/** A Monitoring condition as the AlertPolicy takes it. */
export type SignalCondition = ReturnType<typeof oldestUnackedPast> | ReturnType<typeof perMinuteAbove>;

export interface SignalAlert {
  /** Logical name and display-name suffix: <topic-or-consumer>-<kind>. */
  kind: 'publish-failures' | 'retries' | 'retention-half';
  severity: 'WARNING' | 'ERROR';
  conditions: SignalCondition[];
  summary: string;
  runbook: RunbookKind;
}

export const topicMetricFilter = (topic: string, metric: string) =>
  `resource.type = "pubsub_topic" AND resource.labels.topic_id = "${topic}" AND metric.type = "pubsub.googleapis.com/topic/${metric}"`;

/**
 * True when the series of `filter`, summed per minute and added up by `groupBy` (the topic or the
 * subscription), stays above `threshold` for `durationSeconds`.
 */
export const perMinuteAbove = (displayName: string, filter: string, groupBy: string, threshold: number, durationSeconds: number) => ({
  displayName,
  conditionThreshold: {
    filter,
    comparison: 'COMPARISON_GT',
    thresholdValue: threshold,
    duration: toProtoDuration(durationSeconds),
    aggregations: [{ alignmentPeriod: ALIGNMENT, perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: [groupBy] }],
    trigger: { count: 1 },
  },
});

/** Publish requests to the topic that did not succeed. */
export function publishFailureAlert(topic: TopicSpec): SignalAlert {
  return {
    kind: 'publish-failures',
    // Events are not entering the mesh at all: no redrive or replay brings back what was never published.
    severity: 'ERROR',
    conditions: [
      perMinuteAbove(
        `publish requests to ${topic.name} that did not succeed, per minute`,
        `${topicMetricFilter(topic.name, 'send_request_count')} AND metric.labels.response_class != "success"`,
        'resource.label.topic_id',
        PUBLISH_FAILURES_PER_MINUTE,
        PUBLISH_FAILURE_SUSTAIN_SECONDS,
      ),
    ],
    summary: `publishes to topic ${topic.name} have failed in every minute for ${formatDuration(PUBLISH_FAILURE_SUSTAIN_SECONDS)}`,
    // The producer-fault runbook: what the topic refuses at publish is what consumers dead-letter as poison.
    runbook: 'dead-letters',
  };
}

/**
 * A consumer's retried deliveries, or undefined for a BigQuery consumer: Pub/Sub writes its table
 * itself, nothing of ours nacks or answers a push, and the list above has no retry count for that
 * kind of subscription (what BigQuery refuses is dead-lettered, which <c>-dead-letters sees; a write
 * that stalls shows as lag and buffer).
 */
export function retryAlert(consumer: ConsumerSpec): SignalAlert | undefined {
  if (consumer.delivery === 'bigquery') return undefined;
  const sub = consumerResources(consumer).subscription;
  const perMinute = (what: string, metric: string, extra = '') =>
    perMinuteAbove(
      `${what} of ${sub} above ${RETRIES_PER_MINUTE} a minute`,
      `${subscriptionMetricFilter(sub, metric)}${extra}`,
      'resource.label.subscription_id',
      RETRIES_PER_MINUTE,
      RETRY_SUSTAIN_SECONDS,
    );
  return {
    kind: 'retries',
    // Retried, not lost yet: the lag and dead-letter alerts say when it starts to cost.
    severity: 'WARNING',
    conditions:
      consumer.delivery === 'push'
        ? // Our push endpoint answers 500 on a transient failure (shared/consumer/push.ts): any class but ack comes back.
          [perMinute('push requests not acked', 'push_request_count', ' AND metric.labels.response_class != "ack"')]
        : // The runtime nacks a transient failure (shared/consumer/pull.ts); a message it never settles expires instead.
          [perMinute('nacked messages', 'nack_requests'), perMinute('expired ack deadlines', 'expired_ack_deadlines_count')],
    summary: `deliveries to ${consumer.name} have been retried more than ${RETRIES_PER_MINUTE} times a minute for ${formatDuration(RETRY_SUSTAIN_SECONDS)}`,
    runbook: 'lag',
  };
}

/** The consumer's oldest unacked message past RETENTION_HALF_RATIO of its topic's retention (as deployed: topics.ts). */
export function retentionHalfAlert(spec: MeshSpec, consumer: ConsumerSpec): SignalAlert | undefined {
  const topic = spec.topics[consumer.topic];
  if (!topic?.retentionSeconds) return undefined;
  const retention = topicRetentionSeconds({ spec }, topic);
  const sub = consumerResources(consumer).subscription;
  const summary = `the oldest unacked message of ${sub} is older than ${Math.round(RETENTION_HALF_RATIO * 100)} % of topic ${topic.name}'s ${approxDuration(retention)} retention`;
  return {
    kind: 'retention-half',
    severity: 'WARNING',
    // At once, as the buffer alert: the age already is the time waited.
    conditions: [oldestUnackedPast(summary, sub, Math.round(RETENTION_HALF_RATIO * retention))],
    summary,
    // Retention running out: the buffer alert's runbook (that alert fires later, on the subscription's own retention).
    runbook: 'buffer',
  };
}

export interface SubjectAlert {
  /** The topic or consumer the alert is about. */
  subject: string;
  owner: string | undefined;
  userLabels: Record<string, string>;
  alert: SignalAlert;
}

/** Every signal alert of the spec, as data: per topic, then per consumer. */
export function signalAlerts(spec: MeshSpec): SubjectAlert[] {
  const topics = Object.values(spec.topics).map((t) => ({
    subject: t.name,
    owner: t.owner,
    userLabels: { 'mesh-topic': labelValue(t.name) },
    alert: publishFailureAlert(t),
  }));
  const consumers = Object.values(spec.consumers).flatMap((c) =>
    [retryAlert(c), retentionHalfAlert(spec, c)]
      .filter((a): a is SignalAlert => a !== undefined)
      .map((alert) => ({ subject: c.name, owner: c.owner, userLabels: { 'mesh-consumer': labelValue(c.name) }, alert })),
  );
  return [...topics, ...consumers];
}

export function createSignalAlerts(ctx: AlertingContext): gcp.monitoring.AlertPolicy[] {
  const { project } = ctx.config;
  return signalAlerts(ctx.spec).map(
    ({ subject, owner, userLabels, alert }) =>
      new gcp.monitoring.AlertPolicy(
        `${subject}-${alert.kind}`,
        {
          project,
          displayName: `Event mesh: ${subject} ${alert.kind}`,
          combiner: 'OR',
          severity: alert.severity,
          conditions: alert.conditions,
          // The topic's or the consumer's owner, and the stack's list (owners.ts).
          notificationChannels: alertChannelsFor(ctx, [owner]),
          alertStrategy: { autoClose: toProtoDuration(1800) },
          documentation: { mimeType: 'text/markdown', content: `${signalDocumentation(ctx.spec, subject, alert)}\n\n${runbookLine(alert.runbook)}` },
          userLabels: meshLabels(userLabels),
        },
        resourceOptions(ctx),
      ),
  );
}

/** What the person paged reads: what fired, where to look, what to do. */
export function signalDocumentation(spec: MeshSpec, subject: string, alert: SignalAlert): string {
  const head = `${alert.summary[0].toUpperCase()}${alert.summary.slice(1)}.`;
  if (alert.kind === 'publish-failures') {
    const topic = spec.topics[subject];
    return [
      head,
      '',
      `Producers of topic \`${subject}\`${topic?.owner ? ` (owned by ${topic.owner})` : ''} are being refused: the incident's \`response_class\` says how (Pub/Sub's \`topic/send_request_count\`).`,
      '- `invalid`: the request itself is refused: data that does not match the schema revisions the topic accepts, a missing permission, a topic that does not exist. Retrying cannot help; the producer must change.',
      '- `internal`: Pub/Sub failed; client libraries retry these. Sustained, check the Google Cloud status page.',
      "The producer's own counts say which code and what it last got: `publisher.stats()` (`failed`, `failuresByCode`, `lastFailure`; docs/producers.md). What was refused never entered the mesh: the producer must publish it again.",
    ].join('\n');
  }
  const consumer = spec.consumers[subject];
  const where = `Consumer \`${subject}\` of topic \`${consumer.topic}\` (${consumer.delivery}${consumer.service ? `, service ${consumer.service}` : ''}).`;
  if (alert.kind === 'retries')
    return [
      head,
      '',
      where,
      `Deliveries fail and come back with the subscription's backoff (${formatDuration(consumer.retry.minBackoffSeconds)}..${formatDuration(consumer.retry.maxBackoffSeconds)}); after ${consumer.deadLetter.maxAttempts} attempts a message is dead-lettered.`,
      `\`npm run mesh -- status\` shows its failures and backlog; the service's log has each failure (\`transient failure, will be retried\`, or \`handler failed unexpectedly\` for a bug). A dependency that is down: pause the consumer until it is back (\`npm run mesh -- pause ${subject} --owner NAME --intent WHY\`).`,
    ].join('\n');
  const retention = topicRetentionSeconds({ spec }, spec.topics[consumer.topic]);
  return [
    head,
    '',
    where,
    `A seek or replay from the topic reaches back only ${approxDuration(retention)}: once the oldest unacked message is older, a gap of this consumer can only be refilled from the warehouse (\`npm run mesh -- replay request --consumer ${subject} --from T1 --to T2 --owner NAME --intent WHY\`).`,
    `\`npm run mesh -- status\` shows whether ${subject} is paused or lagging; resume it or add capacity now. The buffer alert fires later, on the subscription's own retention.`,
  ].join('\n');
}
