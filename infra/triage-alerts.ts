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
import { consumerResources, formatDuration, toProtoDuration, type ConsumerSpec } from '../shared/spec';
import { runbookLine } from '../shared/operations/runbooks';
import { DEAD_LETTER_HOLD_RETENTION_SECONDS } from './consumers';
import { labelValue, meshLabels, resourceOptions } from './context';
import { oldestUnackedPast } from './monitoring';
import { alertChannelsFor, type AlertingContext } from './owners';

/** `deadLetter.triageSla` when the spec leaves it out (shared/spec/document.ts defaults it to 4h too). */
export const DEFAULT_TRIAGE_SLA_SECONDS = 4 * 3600;
/** The share of the hold's retention at which the escalation fires: the buffer alerts' ratio. */
export const TRIAGE_ESCALATION_RATIO = 0.8;

export interface TriageAlert {
  kind: 'triage-sla' | 'triage-escalation';
  severity: 'WARNING' | 'CRITICAL';
  subscription: string;
  /** Oldest unacked message age, in seconds, at which it fires. */
  threshold: number;
  summary: string;
}

/** The two alerts of one consumer, as data. */
export function triageAlerts(consumer: ConsumerSpec): TriageAlert[] {
  const hold = consumerResources(consumer).deadLetterHold;
  const sla = consumer.deadLetter.triageSlaSeconds ?? DEFAULT_TRIAGE_SLA_SECONDS;
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
  ];
}

export function createTriageAlerts(ctx: AlertingContext): gcp.monitoring.AlertPolicy[] {
  const { project } = ctx.config;
  return Object.values(ctx.spec.consumers).flatMap((consumer) =>
    triageAlerts(consumer).map(
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
  if (alert.kind === 'triage-escalation')
    lines.push(`Past ${formatDuration(DEAD_LETTER_HOLD_RETENTION_SECONDS)} in the hold, Pub/Sub drops a dead letter without a trace: redrive them now.`);
  return lines.join('\n');
}
