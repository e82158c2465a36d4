/**
 * Order anomalies as a signal in GCP: a log-based metric counting the processor's anomaly lines per
 * topic and kind, and an alert policy on it from the spec (`alerts.anomalies`).
 *
 * The processor logs one WARNING line per anomaly with `anomaly: {topic, kind, orderId}`
 * (shared/anomalies.ts); Cloud Run sends its stdout to Cloud Logging, which parses a JSON line into
 * `jsonPayload`. A log-based metric "counts the number of log entries that match a filter"; with no
 * descriptor it would be a DELTA INT64 counter without labels, so the descriptor adds `topic` and
 * `kind`, each filled from the entry by its extractor, `EXTRACT(<field>)` (LogMetric.labelExtractors:
 * "Each label key specified in the LabelDescriptor must have an associated extractor expression in
 * this map"; https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics; Pulumi's
 * gcp.logging.Metric takes them as `metricDescriptor.labels` and `labelExtractors`,
 * https://www.pulumi.com/docs/reference/pkg/gcp/logging/metric). Writing the entries needs nothing
 * new: Cloud Run already writes its containers' output, so the processor's account gets no role for
 * this. Counting starts when the metric exists: earlier entries are not counted.
 *
 * Monitoring names a user-defined log-based metric `logging.googleapis.com/user/<name>`; the alert's
 * filter names it that way, with the metric's monitored resource (the entry's, `cloud_run_revision`).
 * A DELTA counter is summed over the window (ALIGN_SUM) and the series are grouped by topic and kind,
 * so each pair is compared with the threshold on its own and the incident names it.
 */
import * as gcp from '@pulumi/gcp';
import { ANOMALY_LOG_FIELD, ANOMALY_METRIC, ANOMALY_METRIC_LABELS, ANOMALY_SOURCE_SERVICE, logMetricType } from '../shared/anomalies';
import { formatDuration, toProtoDuration, type MeshSpec } from '../shared/spec';
import { meshLabels, labelValue, resourceOptions } from './context';
import { alertChannelsFor, topicOwners, type AlertingContext } from './owners';
import { runbookLine } from '../shared/operations/runbooks';

export interface MeshAnomalyAlerting {
  metric: gcp.logging.Metric;
  /** Absent when `alerts.anomalies.enabled` is false: the metric still counts, for charts. */
  alertPolicy?: gcp.monitoring.AlertPolicy;
}

/** The processor's anomaly lines in Cloud Logging (`:*` = the field is present). */
export const anomalyLogFilter = (service = ANOMALY_SOURCE_SERVICE) =>
  `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${service}" AND jsonPayload.${ANOMALY_LOG_FIELD}.kind:*`;

/** The alert's (and a chart's) filter on the metric. */
export const anomalyMetricFilter = (metricName = ANOMALY_METRIC) => `resource.type = "cloud_run_revision" AND metric.type = "${logMetricType(metricName)}"`;

/** The topics whose events the processor sees: those an anomaly can be about. */
export const anomalyTopics = (spec: MeshSpec) =>
  Object.values(spec.consumers)
    .filter((c) => c.service === ANOMALY_SOURCE_SERVICE)
    .map((c) => c.topic);

/** Whether the spec has the service that logs anomalies: without it there is nothing to count. */
export const countsAnomalies = (spec: MeshSpec) => Boolean(spec.services[ANOMALY_SOURCE_SERVICE]);

export function createAnomalyAlerting(ctx: AlertingContext): MeshAnomalyAlerting | undefined {
  if (!countsAnomalies(ctx.spec)) return undefined;
  const { project } = ctx.config;
  const settings = ctx.spec.alerts.anomalies;
  const metric = new gcp.logging.Metric(
    'anomalies-metric',
    {
      project,
      name: ANOMALY_METRIC,
      description: `Order anomalies (impossible transitions, sequence gaps ...) logged by ${ANOMALY_SOURCE_SERVICE}, per topic and kind.`,
      filter: anomalyLogFilter(),
      metricDescriptor: {
        metricKind: 'DELTA',
        valueType: 'INT64',
        unit: '1',
        displayName: 'Event mesh order anomalies',
        labels: ANOMALY_METRIC_LABELS.map((key) => ({
          key,
          valueType: 'STRING',
          description: key === 'topic' ? 'the topic of the event' : 'the anomaly kind',
        })),
      },
      labelExtractors: Object.fromEntries(ANOMALY_METRIC_LABELS.map((key) => [key, `EXTRACT(jsonPayload.${ANOMALY_LOG_FIELD}.${key})`])),
    },
    resourceOptions(ctx),
  );
  if (!settings.enabled) return { metric };

  const window = formatDuration(settings.windowSeconds);
  const summary = `more than ${settings.threshold} order anomal${settings.threshold === 1 ? 'y' : 'ies'} of one topic and kind within ${window}`;
  const alertPolicy = new gcp.monitoring.AlertPolicy(
    'anomalies',
    {
      project,
      displayName: 'Event mesh: order anomalies',
      combiner: 'OR',
      severity: 'WARNING',
      conditions: [
        {
          displayName: summary,
          conditionThreshold: {
            // Built from the metric's name output: the policy waits for the metric, which Monitoring must know first.
            filter: metric.name.apply((name) => anomalyMetricFilter(name)),
            comparison: 'COMPARISON_GT',
            thresholdValue: settings.threshold,
            // Fires at once: the window is the alignment period, not a duration to wait out.
            duration: '0s',
            aggregations: [
              {
                alignmentPeriod: toProtoDuration(settings.windowSeconds),
                perSeriesAligner: 'ALIGN_SUM',
                crossSeriesReducer: 'REDUCE_SUM',
                groupByFields: ANOMALY_METRIC_LABELS.map((key) => `metric.label.${key}`),
              },
            ],
            trigger: { count: 1 },
          },
        },
      ],
      // One policy over every topic the processor reads: the owners of all of them (and the stack's list).
      notificationChannels: alertChannelsFor(ctx, topicOwners(ctx.spec, anomalyTopics(ctx.spec))),
      alertStrategy: { autoClose: toProtoDuration(1800) },
      documentation: { mimeType: 'text/markdown', content: `${anomalyAlertDocumentation(summary)}\n\n${runbookLine('anomalies')}` },
      userLabels: meshLabels({ 'mesh-signal': labelValue('anomalies') }),
    },
    resourceOptions(ctx, metric),
  );
  return { metric, alertPolicy };
}

/** What the person paged reads. */
export function anomalyAlertDocumentation(summary: string): string {
  return [
    `${summary[0].toUpperCase()}${summary.slice(1)}.`,
    '',
    `The ${ANOMALY_SOURCE_SERVICE} saw events of an order's lifecycle that cannot happen (shipped before paid, a step after cancelled), or sequence numbers missing or repeated: usually a producer bug or events published out of order. The incident's labels name the topic and kind.`,
    '',
    'The latest offending order ids and their reasons: the dashboard\'s "Order anomalies" panel, `GET /api/anomalies` on the dashboard, or `GET /orders/<orderId>` on the processor. See docs/infra.md.',
  ].join('\n');
}
