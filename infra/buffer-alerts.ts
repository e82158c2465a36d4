/**
 * The buffer policy, in GCP: a consumer's subscriptions keep unacked messages only for their message
 * retention, and "After the message retention duration passes, Pub/Sub might discard the message
 * independent of the acknowledgment state of the message" (default 7 days;
 * https://cloud.google.com/pubsub/docs/subscription-properties, Message retention duration). A paused
 * or stuck consumer loses messages past it, so one alert policy per consumer fires when the oldest
 * unacked message of its subscription (or of its redrive subscription) reaches BUFFER_WARN_RATIO of
 * that subscription's retention: the ratio at which `mesh status` warns too.
 *
 * Same shape and routing as the lag alerts of monitoring.ts (metric, the consumer owner's channels, documentation).
 */
import * as gcp from '@pulumi/gcp';
import {
  approxDuration,
  BUFFER_WARN_RATIO,
  consumerResources,
  DEFAULT_SUBSCRIPTION_RETENTION_SECONDS,
  subscriptionRetentionSeconds,
  toProtoDuration,
  type ConsumerSpec,
} from '../shared/spec';
import { labelValue, meshLabels, resourceOptions } from './context';
import { oldestUnackedPast } from './monitoring';
import { alertChannelsFor, type AlertingContext } from './owners';
import { runbookLine } from '../shared/operations/runbooks';

export interface BufferCondition {
  subscription: string;
  /** The subscription's messageRetentionDuration (consumers.ts), in seconds. */
  retentionSeconds: number;
  /** Oldest unacked message age, in seconds, at which the alert fires. */
  threshold: number;
}

/**
 * Per subscription of the consumer: `<c>` keeps its replay window when it has one (consumers.ts sets
 * it as messageRetentionDuration), else Pub/Sub's default; `<c>-redrive` sets none, so the default.
 */
export function bufferConditions(consumer: ConsumerSpec): BufferCondition[] {
  const names = consumerResources(consumer);
  return [
    { subscription: names.subscription, retentionSeconds: subscriptionRetentionSeconds(consumer) },
    { subscription: names.redriveSubscription, retentionSeconds: DEFAULT_SUBSCRIPTION_RETENTION_SECONDS },
  ].map((c) => ({ ...c, threshold: BUFFER_WARN_RATIO * c.retentionSeconds }));
}

export function createBufferAlerts(ctx: AlertingContext): gcp.monitoring.AlertPolicy[] {
  const { project } = ctx.config;
  return Object.values(ctx.spec.consumers).map(
    (consumer) =>
      new gcp.monitoring.AlertPolicy(
        `${consumer.name}-buffer`,
        {
          project,
          displayName: `Event mesh: ${consumer.name} buffer`,
          combiner: 'OR',
          // Messages are about to be lost for good, which no redrive can undo.
          severity: 'CRITICAL',
          // At once: with a 10-minute retention the margin left is only 2 minutes.
          conditions: bufferConditions(consumer).map((c) =>
            oldestUnackedPast(
              `oldest unacked message of ${c.subscription} is past ${percent()} of its ${approxDuration(c.retentionSeconds)} retention`,
              c.subscription,
              c.threshold,
            ),
          ),
          notificationChannels: alertChannelsFor(ctx, [consumer.owner]),
          alertStrategy: { autoClose: toProtoDuration(1800) },
          documentation: { mimeType: 'text/markdown', content: `${bufferDocumentation(consumer)}\n\n${runbookLine('buffer')}` },
          userLabels: meshLabels({ 'mesh-consumer': labelValue(consumer.name) }),
        },
        resourceOptions(ctx),
      ),
  );
}

/** What the person paged reads: how long is left, and how to get the messages delivered. */
export function bufferDocumentation(consumer: ConsumerSpec): string {
  const lines = bufferConditions(consumer).map(
    (c) =>
      `- \`${c.subscription}\`: retention ${approxDuration(c.retentionSeconds)}; alerts at ${approxDuration(c.threshold)}, ${approxDuration(c.retentionSeconds - c.threshold)} before Pub/Sub drops its oldest messages.`,
  );
  const act =
    consumer.delivery === 'bigquery'
      ? `\`npm run mesh -- status\` shows its backlog. A BigQuery subscription cannot be paused: most likely Pub/Sub cannot write to table \`${consumer.table}\`; check the subscription's state and the table in the console (what it cannot write is dead-lettered).`
      : [
          `\`npm run mesh -- status\` shows whether ${consumer.name} is paused, since when, by whom and why.`,
          `If it is paused, resume it now: \`npm run mesh -- resume ${consumer.name} --owner NAME --intent WHY\`; the backlog then drains at the consumer's pace.`,
          `If it is not, it is stuck or too slow: see its oldest-unacked and backlog alerts${consumer.delivery === 'pull' && consumer.service ? ` (\`event-mesh:scaling.${consumer.service}.minInstances\`)` : ''}.`,
        ].join(' ');
  return [
    `Messages of \`${consumer.name}\` (topic \`${consumer.topic}\`, ${consumer.delivery}${consumer.service ? `, service ${consumer.service}` : ''}) have waited unacked for ${percent()} of their subscription's retention; past it they are lost.`,
    '',
    ...lines,
    '',
    act,
    '',
    'See docs/infra.md, "Pause and the buffer alert".',
  ].join('\n');
}

const percent = () => `${Math.round(BUFFER_WARN_RATIO * 100)} %`;
