/**
 * The dead-letter triage SLA, in GCP. `<c>-dead-letters` (monitoring.ts) fires as soon as a dead
 * letter lands in `<c>-dlq-hold`; these two fire when one has waited too long there:
 *   `<c>-triage-sla`        WARNING: the oldest one is older than `deadLetter.triageSla` (default 4 h);
 *   `<c>-triage-escalation` CRITICAL: it is older than 80 % of the hold's message retention. Past the
 *                           retention Pub/Sub may drop it, acked or not ("After the message retention
 *                           duration passes, Pub/Sub might discard the message independent of the
 *                           acknowledgment state of the message",
 *                           https://cloud.google.com/pubsub/docs/subscription-properties): the dead
 *                           letter expires silently.
 * Both go to the consumer's owner (owners.ts) and name what to run. Same shape as the buffer alerts.
 */
import * as gcp from '@pulumi/gcp';
import { archivesDeadLetters, consumerResources, formatDuration, toProtoDuration, triageSlaSeconds, type ConsumerSpec } from '../shared/spec';
import { runbookLine } from '../shared/operations/runbooks';
import { DEAD_LETTER_HOLD_RETENTION_SECONDS } from './consumers';
import { labelValue, meshLabels, resourceOptions } from './context';
import { oldestUnackedPast } from './monitoring';
import { alertChannelsFor, type AlertingContext } from './owners';

/** The share of the hold's retention at which the escalation fires: the buffer alerts' ratio. */
export const TRIAGE_ESCALATION_RATIO = 0.8;

/** How long a dead letter may wait for its copy in BigQuery's dead_letters before the archive counts as stalled. */
export const DEAD_LETTER_ARCHIVE_STALL_SECONDS = 3600;

export interface TriageAlert {
  kind: 'triage-sla' | 'triage-escalation' | 'archive-stalled';
  severity: 'WARNING' | 'CRITICAL';
  subscription: string;
  /** Oldest unacked message age, in seconds, at which it fires. */
  threshold: number;
  summary: string;
}

/** The alerts of one consumer, as data: two on its hold, and one on its archive when the spec archives dead letters. */
export function triageAlerts(consumer: ConsumerSpec, archived = false): TriageAlert[] {
  const { deadLetterHold: hold, deadLetterArchive: archive } = consumerResources(consumer);
  const sla = triageSlaSeconds(consumer);
  const escalation = Math.round(TRIAGE_ESCALATION_RATIO * DEAD_LETTER_HOLD_RETENTION_SECONDS);
  return [
    {
      kind: 'triage-sla',
      severity: 'WARNING',
      subscription: hold,
      threshold: sla,
      summary: `a dead letter of ${consumer.name} has waited in ${hold} longer than its triage SLA of ${formatDuration(sla)}`,
    },
    {
      kind: 'triage-escalation',
      severity: 'CRITICAL',
      subscription: hold,
      threshold: escalation,
      summary: `a dead letter of ${consumer.name} has waited in ${hold} for ${Math.round(TRIAGE_ESCALATION_RATIO * 100)} % of the hold's ${formatDuration(DEAD_LETTER_HOLD_RETENTION_SECONDS)} retention: it expires in ${+((DEAD_LETTER_HOLD_RETENTION_SECONDS - escalation) / 86400).toFixed(1)} days`,
    },
    ...(archived
      ? [
          {
            kind: 'archive-stalled' as const,
            severity: 'WARNING' as const,
            subscription: archive,
            threshold: DEAD_LETTER_ARCHIVE_STALL_SECONDS,
            summary: `dead letters of ${consumer.name} have waited in ${archive} for over ${formatDuration(DEAD_LETTER_ARCHIVE_STALL_SECONDS)} without being copied to BigQuery's dead_letters`,
          },
        ]
      : []),
  ];
}

export function createTriageAlerts(ctx: AlertingContext): gcp.monitoring.AlertPolicy[] {
  const { project } = ctx.config;
  return Object.values(ctx.spec.consumers).flatMap((consumer) =>
    triageAlerts(consumer, archivesDeadLetters(ctx.spec)).map(
      (alert) =>
        new gcp.monitoring.AlertPolicy(
          `${consumer.name}-${alert.kind}`,
          {
            project,
            displayName: `Event mesh: ${consumer.name} ${alert.kind}`,
            combiner: 'OR',
            severity: alert.severity,
            conditions: [oldestUnackedPast(alert.summary, alert.subscription, alert.threshold)],
            notificationChannels: alertChannelsFor(ctx, [consumer.owner]),
            alertStrategy: { autoClose: toProtoDuration(1800) },
            documentation: { mimeType: 'text/markdown', content: `${triageDocumentation(consumer, alert)}\n\n${runbookLine('dead-letters')}` },
            userLabels: meshLabels({ 'mesh-consumer': labelValue(consumer.name) }),
          },
          resourceOptions(ctx),
        ),
    ),
  );
}

/** What the person paged reads: who owns it, what to run, and what happens if nobody does. */
export function triageDocumentation(consumer: ConsumerSpec, alert: TriageAlert): string {
  const lines = [
    `${alert.summary[0].toUpperCase()}${alert.summary.slice(1)}.`,
    '',
    `Consumer \`${consumer.name}\` of topic \`${consumer.topic}\`${consumer.owner ? `, owned by ${consumer.owner}` : ''}.`,
    `Run \`npm run mesh -- dead-letters ${consumer.name}\` to see what is held and why; fix the cause, then send them back with \`npm run mesh -- dead-letters ${consumer.name} --redrive --owner NAME --intent WHY\`.`,
  ];
  if (alert.kind === 'archive-stalled')
    return [
      `${alert.summary[0].toUpperCase()}${alert.summary.slice(1)}.`,
      '',
      `The warehouse service drains \`${consumerResources(consumer).deadLetterArchive}\` into \`dead_letters\`: see its log for refused rows or a failed start, and \`GET /loader\` on it. Nothing is lost yet: the dead letters are still in \`${consumerResources(consumer).deadLetterHold}\` and wait in the archive subscription.`,
    ].join('\n');
  if (alert.kind === 'triage-escalation')
    lines.push(
      `Past ${formatDuration(DEAD_LETTER_HOLD_RETENTION_SECONDS)} in the hold, Pub/Sub drops a dead letter from it: only its copy in BigQuery's \`dead_letters\` remains (if the spec has a warehouse), and nothing will redrive it. Redrive or purge them now.`,
    );
  return lines.join('\n');
}
