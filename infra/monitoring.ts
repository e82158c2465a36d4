/**
 * Alerting and a dashboard from each consumer's lagSlo. Three alert policies per consumer:
 *   oldest unacked message age > lagSlo.oldestUnacked (the consumer is stuck or too slow)
 *   undelivered messages > lagSlo.backlog (it is falling behind)
 *   undelivered messages on <c>-dlq-hold > 0 (dead letters await triage). Watching the hold
 *   subscription rather than dead_letter_message_count also catches the runtime's poison fast
 *   path, which publishes to the dead-letter topic directly, and keeps firing until someone triages.
 *
 * Pull consumers do not scale with their backlog: Cloud Run scales a service that keeps its CPU on
 * CPU utilization and requests, not on Pub/Sub (https://cloud.google.com/run/docs/about-instance-autoscaling).
 * Their lag alerts say so and point at the scaling config (docs/infra.md, "Pull on Cloud Run").
 */
import * as gcp from '@pulumi/gcp';
import { consumerResources, formatDuration, toProtoDuration, type ConsumerSpec, type MeshSpec } from '../shared/spec';
import { meshLabels, labelValue, resourceOptions } from './context';
import { alertChannelsFor, type AlertingContext } from './owners';
import { runbookLine } from '../shared/operations/runbooks';

export const ALIGNMENT = '60s';

export const subscriptionMetricFilter = (subscription: string, metric: string) =>
  `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${subscription}" AND metric.type = "pubsub.googleapis.com/subscription/${metric}"`;

/**
 * A condition on a subscription's oldest unacked message age, true at once past `threshold` seconds
 * (the age already is the time waited): the buffer and triage alerts. The metric is sampled every
 * 60 s (https://cloud.google.com/monitoring/api/metrics_gcp_p_z, subscription/oldest_unacked_message_age).
 */
export const oldestUnackedPast = (displayName: string, subscription: string, threshold: number) => ({
  displayName,
  conditionThreshold: {
    filter: subscriptionMetricFilter(subscription, 'oldest_unacked_message_age'),
    comparison: 'COMPARISON_GT',
    thresholdValue: threshold,
    duration: toProtoDuration(0),
    aggregations: [{ alignmentPeriod: ALIGNMENT, perSeriesAligner: 'ALIGN_MAX' }],
    trigger: { count: 1 },
  },
});

export interface ConsumerAlert {
  /** Logical and display-name suffix. */
  kind: 'oldest-unacked' | 'backlog' | 'dead-letters';
  subscription: string;
  metric: string;
  threshold: number;
  /** How long the condition must hold before it fires. */
  durationSeconds: number;
  summary: string;
}

/** The alerts of one consumer, as data (also shown by `mesh plan`). */
export function consumerAlerts(consumer: ConsumerSpec): ConsumerAlert[] {
  const names = consumerResources(consumer);
  return [
    {
      kind: 'oldest-unacked',
      subscription: names.subscription,
      metric: 'oldest_unacked_message_age',
      threshold: consumer.lagSlo.oldestUnackedSeconds,
      durationSeconds: 60,
      summary: `oldest unacked message of ${consumer.name} is older than its SLO of ${formatDuration(consumer.lagSlo.oldestUnackedSeconds)}`,
    },
    {
      kind: 'backlog',
      subscription: names.subscription,
      metric: 'num_undelivered_messages',
      threshold: consumer.lagSlo.backlog,
      // Bursts are normal; a backlog that stays is not.
      durationSeconds: 300,
      summary: `${consumer.name} has more than ${consumer.lagSlo.backlog} undelivered messages`,
    },
    {
      kind: 'dead-letters',
      subscription: names.deadLetterHold,
      metric: 'num_undelivered_messages',
      threshold: 0,
      durationSeconds: 0,
      summary: `${consumer.name} has dead letters waiting in ${names.deadLetterHold}`,
    },
  ];
}

export function createMonitoring(ctx: AlertingContext): { alertPolicies: gcp.monitoring.AlertPolicy[]; dashboard: gcp.monitoring.Dashboard } {
  const { project } = ctx.config;
  const alertPolicies: gcp.monitoring.AlertPolicy[] = [];
  for (const consumer of Object.values(ctx.spec.consumers)) {
    // The consumer's owner and the stack's list (owners.ts).
    const notificationChannels = alertChannelsFor(ctx, [consumer.owner]);
    for (const alert of consumerAlerts(consumer)) {
      alertPolicies.push(
        new gcp.monitoring.AlertPolicy(
          `${consumer.name}-${alert.kind}`,
          {
            project,
            displayName: `Event mesh: ${consumer.name} ${alert.kind}`,
            combiner: 'OR',
            severity: alert.kind === 'backlog' ? 'WARNING' : 'ERROR',
            conditions: [
              {
                displayName: alert.summary,
                conditionThreshold: {
                  filter: subscriptionMetricFilter(alert.subscription, alert.metric),
                  comparison: 'COMPARISON_GT',
                  thresholdValue: alert.threshold,
                  duration: toProtoDuration(alert.durationSeconds),
                  aggregations: [{ alignmentPeriod: ALIGNMENT, perSeriesAligner: 'ALIGN_MAX' }],
                  trigger: { count: 1 },
                },
              },
            ],
            notificationChannels,
            alertStrategy: { autoClose: toProtoDuration(1800) },
            documentation: {
              mimeType: 'text/markdown',
              content: `${alertDocumentation(consumer, alert)}\n\n${runbookLine(alert.kind === 'dead-letters' ? 'dead-letters' : 'lag')}`,
            },
            userLabels: meshLabels({ 'mesh-consumer': labelValue(consumer.name) }),
          },
          resourceOptions(ctx),
        ),
      );
    }
  }
  const dashboard = new gcp.monitoring.Dashboard(
    'dashboard',
    { project, dashboardJson: JSON.stringify(withoutEmptyArrays(dashboardDefinition(ctx.spec))) },
    resourceOptions(ctx),
  );
  return { alertPolicies, dashboard };
}

/** What the person paged reads: what fired, and for a pull consumer's lag, how to add capacity. */
export function alertDocumentation(consumer: ConsumerSpec, alert: ConsumerAlert): string {
  const lines = [
    `${alert.summary}.`,
    '',
    `Consumer \`${consumer.name}\` of topic \`${consumer.topic}\` (${consumer.delivery}${consumer.service ? `, service ${consumer.service}` : ''}). See docs/infra.md for triage and redrive.`,
  ];
  if (consumer.delivery === 'pull' && consumer.service && alert.kind !== 'dead-letters') {
    lines.push(
      '',
      `Cloud Run does not scale ${consumer.service} on this backlog (it scales on CPU). If ${consumer.service} is healthy but too slow, raise \`event-mesh:scaling.${consumer.service}.minInstances\` (up to its maxInstances) and run \`pulumi up\`.`,
    );
  }
  return lines.join('\n');
}

/** The Monitoring API drops empty lists, so a `[]` in dashboardJson would show as a diff on every update. */
export function withoutEmptyArrays<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutEmptyArrays) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => !(Array.isArray(v) && v.length === 0))
        .map(([k, v]) => [k, withoutEmptyArrays(v)]),
    ) as T;
  }
  return value;
}

const chart = (
  title: string,
  dataSets: { subscription: string; metric: string; aligner: string; legend: string }[],
  threshold?: { value: number; label: string },
) => ({
  title,
  xyChart: {
    dataSets: dataSets.map((d) => ({
      plotType: 'LINE',
      legendTemplate: d.legend,
      timeSeriesQuery: {
        timeSeriesFilter: {
          filter: subscriptionMetricFilter(d.subscription, d.metric),
          aggregation: { alignmentPeriod: ALIGNMENT, perSeriesAligner: d.aligner },
        },
      },
    })),
    ...(threshold ? { thresholds: [{ value: threshold.value, label: threshold.label, targetAxis: 'Y1' }] } : {}),
    yAxis: { scale: 'LINEAR' },
  },
});

/** One row per consumer: backlog, oldest unacked age with the SLO as a threshold line, dead letters. */
export function dashboardDefinition(spec: MeshSpec) {
  const width = 16;
  const height = 16;
  const tiles = Object.values(spec.consumers).flatMap((consumer, row) => {
    const names = consumerResources(consumer);
    const widgets = [
      chart(
        `${consumer.name}: backlog`,
        [{ subscription: names.subscription, metric: 'num_undelivered_messages', aligner: 'ALIGN_MAX', legend: 'undelivered' }],
        {
          value: consumer.lagSlo.backlog,
          label: 'backlog SLO',
        },
      ),
      chart(
        `${consumer.name}: oldest unacked (s)`,
        [{ subscription: names.subscription, metric: 'oldest_unacked_message_age', aligner: 'ALIGN_MAX', legend: 'age' }],
        {
          value: consumer.lagSlo.oldestUnackedSeconds,
          label: `SLO ${formatDuration(consumer.lagSlo.oldestUnackedSeconds)}`,
        },
      ),
      chart(`${consumer.name}: dead letters`, [
        { subscription: names.deadLetterHold, metric: 'num_undelivered_messages', aligner: 'ALIGN_MAX', legend: 'awaiting triage' },
        { subscription: names.subscription, metric: 'dead_letter_message_count', aligner: 'ALIGN_SUM', legend: 'dead-lettered' },
      ]),
    ];
    return widgets.map((widget, column) => ({ xPos: column * width, yPos: row * height, width, height, widget }));
  });
  return { displayName: 'Event mesh consumers', mosaicLayout: { columns: 48, tiles } };
}
