/**
 * Schema-failure dead letters per hour, per consumer: a log-based metric over the consumer runtime's
 * dead-letter lines, and one alert policy per consumer on it, to the consumer's owner.
 *
 * `<c>-dead-letters` (monitoring.ts) already fires on the first dead letter in a hold; this one tells a
 * stream of them apart from a stray poison message: a producer publishing events the topic's contract
 * refuses (a bad deploy, a schema change the consumers do not accept).
 *
 * The line: the pipeline logs each dead letter once, `log.warn({ messageId, eventId, deliveryAttempt,
 * reason, error, deadLetterId }, "dead-lettered: <reason>")`, on a child logger that adds `consumer`
 * (shared/consumer/pipeline.ts). The logger writes one JSON object per line with the text under
 * `message` and the level as `severity` (shared/consumer/logger.ts). Cloud Run turns such a line into a
 * structured entry; "some special fields are stripped from the jsonPayload and are written to the
 * corresponding field in the generated LogEntry ... if your JSON includes a severity property, it is
 * removed from the jsonPayload and appears instead as the log entry's severity. The message property is
 * used as the main display text of the log entry if present" (https://cloud.google.com/run/docs/logging,
 * "Special JSON fields in messages"). So the filter matches fields that stay in jsonPayload and that
 * only this line has together: `deadLetterId` (the id the dead-letter publish returned; the "publish
 * failed" line has none), `consumer`, and the reason.
 *
 * The metric: "The value of the metric is the number of log entries that match a logs filter in a
 * given time interval"; with a descriptor of DELTA INT64, "Each label in the metric descriptor must
 * have a matching label name as the key and an extractor expression as the value in the
 * label_extractors map"; when "the extraction or the type conversion fails, the label will have a
 * default value. The default value for a string label is an empty string"
 * (https://cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics, LogMetric). Hence
 * `jsonPayload.consumer:*` in the filter: no entry is counted under an empty consumer. Counting starts
 * when the metric exists; earlier lines are not counted. Monitoring sees it as
 * `logging.googleapis.com/user/<name>` on the entries' resource, `cloud_run_revision` (anomalies.ts).
 */
import * as gcp from '@pulumi/gcp';
import { logMetricType } from '../shared/anomalies';
import { runbookLine } from '../shared/operations/runbooks';
import { formatDuration, toProtoDuration, type ConsumerSpec, type MeshSpec } from '../shared/spec';
import { labelValue, meshLabels, resourceOptions } from './context';
import { alertChannelsFor, type AlertingContext } from './owners';
import { SCHEMA_DEAD_LETTER_WINDOW_SECONDS, SCHEMA_DEAD_LETTERS_PER_HOUR, SCHEMA_FAILURE_REASONS } from './signal-thresholds';

export const SCHEMA_DEAD_LETTER_METRIC = 'event-mesh/schema-dead-letters';
export const SCHEMA_DEAD_LETTER_METRIC_LABELS = ['consumer', 'reason'] as const;

/** The consumers whose runtime logs dead letters: those handled by a service (BigQuery consumers are written by Pub/Sub itself). */
export const loggingConsumers = (spec: MeshSpec): ConsumerSpec[] => Object.values(spec.consumers).filter((c) => c.delivery !== 'bigquery' && c.service);

/** Whether the stack counts schema dead letters (and so needs the Logging API). */
export const countsSchemaDeadLetters = (spec: MeshSpec) => loggingConsumers(spec).length > 0;

/** The runtime's schema-failure dead-letter lines in Cloud Logging (`:*` = the field is present). */
export const schemaDeadLetterLogFilter = () =>
  `resource.type = "cloud_run_revision" AND jsonPayload.deadLetterId:* AND jsonPayload.consumer:* AND (${SCHEMA_FAILURE_REASONS.map((r) => `jsonPayload.reason = "${r}"`).join(' OR ')})`;

/** The alert's filter on the metric, for one consumer. */
export const schemaDeadLetterMetricFilter = (consumer: string, metricName = SCHEMA_DEAD_LETTER_METRIC) =>
  `resource.type = "cloud_run_revision" AND metric.type = "${logMetricType(metricName)}" AND metric.labels.consumer = "${consumer}"`;

export interface MeshSchemaDeadLetters {
  metric: gcp.logging.Metric;
  alertPolicies: gcp.monitoring.AlertPolicy[];
}

export function createSchemaDeadLetterAlerts(ctx: AlertingContext): MeshSchemaDeadLetters | undefined {
  const consumers = loggingConsumers(ctx.spec);
  if (!consumers.length) return undefined;
  const { project } = ctx.config;
  const metric = new gcp.logging.Metric(
    'schema-dead-letters-metric',
    {
      project,
      name: SCHEMA_DEAD_LETTER_METRIC,
      description: `Dead letters the consumer runtime sent because the event breaks its topic's contract (reasons ${SCHEMA_FAILURE_REASONS.join(', ')}), per consumer and reason.`,
      filter: schemaDeadLetterLogFilter(),
      metricDescriptor: {
        metricKind: 'DELTA',
        valueType: 'INT64',
        unit: '1',
        displayName: 'Event mesh schema-failure dead letters',
        labels: SCHEMA_DEAD_LETTER_METRIC_LABELS.map((key) => ({
          key,
          valueType: 'STRING',
          description: key === 'consumer' ? 'the consumer that dead-lettered the message' : 'the dead-letter reason',
        })),
      },
      labelExtractors: Object.fromEntries(SCHEMA_DEAD_LETTER_METRIC_LABELS.map((key) => [key, `EXTRACT(jsonPayload.${key})`])),
    },
    resourceOptions(ctx),
  );

  const window = formatDuration(SCHEMA_DEAD_LETTER_WINDOW_SECONDS);
  const alertPolicies = consumers.map((consumer) => {
    const summary = `more than ${SCHEMA_DEAD_LETTERS_PER_HOUR} messages of ${consumer.name} dead-lettered for a schema failure within ${window}`;
    return new gcp.monitoring.AlertPolicy(
      `${consumer.name}-schema-dead-letters`,
      {
        project,
        displayName: `Event mesh: ${consumer.name} schema-dead-letters`,
        combiner: 'OR',
        // A producer is breaking the contract at volume: every such event waits in the hold for a fix and a redrive.
        severity: 'ERROR',
        conditions: [
          {
            displayName: summary,
            conditionThreshold: {
              // From the metric's name output: the policy waits for the metric, which Monitoring must know first.
              filter: metric.name.apply((name) => schemaDeadLetterMetricFilter(consumer.name, name)),
              comparison: 'COMPARISON_GT',
              thresholdValue: SCHEMA_DEAD_LETTERS_PER_HOUR,
              // At once: the hour is the alignment period (a look-back window), not a duration to wait out.
              duration: '0s',
              aggregations: [
                {
                  alignmentPeriod: toProtoDuration(SCHEMA_DEAD_LETTER_WINDOW_SECONDS),
                  perSeriesAligner: 'ALIGN_SUM',
                  // Every revision, instance and reason of the consumer together.
                  crossSeriesReducer: 'REDUCE_SUM',
                  groupByFields: ['metric.label.consumer'],
                },
              ],
              trigger: { count: 1 },
            },
          },
        ],
        notificationChannels: alertChannelsFor(ctx, [consumer.owner]),
        alertStrategy: { autoClose: toProtoDuration(1800) },
        documentation: {
          mimeType: 'text/markdown',
          content: `${schemaDeadLetterDocumentation(ctx.spec, consumer, summary)}\n\n${runbookLine('dead-letters')}`,
        },
        userLabels: meshLabels({ 'mesh-consumer': labelValue(consumer.name) }),
      },
      resourceOptions(ctx, metric),
    );
  });
  return { metric, alertPolicies };
}

/** What the person paged reads. */
export function schemaDeadLetterDocumentation(spec: MeshSpec, consumer: ConsumerSpec, summary: string): string {
  const topic = spec.topics[consumer.topic];
  return [
    `${summary[0].toUpperCase()}${summary.slice(1)}.`,
    '',
    `Consumer \`${consumer.name}\` of topic \`${consumer.topic}\` refuses events that break the topic's contract (reason \`schema\`: the data does not match its revision or the topic does not accept that revision; \`unknown-type\`: not one of the topic's event types).`,
    `Most likely a producer of \`${consumer.topic}\`${topic?.owner ? ` (topic owner: ${topic.owner})` : ''} deployed a change: \`npm run mesh -- dead-letters ${consumer.name} --since 2h\` shows each one with its error.`,
    `Once the producer is fixed (or the spec accepts the new revision), send them back: \`npm run mesh -- dead-letters ${consumer.name} --redrive --reason schema --owner NAME --intent WHY\` (and \`--reason unknown-type\`).`,
  ].join('\n');
}
