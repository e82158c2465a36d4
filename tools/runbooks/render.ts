/**
 * Renders the runbooks (shared/operations/runbooks.ts) from the spec: what fires, per consumer with
 * its thresholds and owner, then the commands to diagnose and to act. Pure: spec in, markdown out;
 * `mesh runbooks` writes them, and a test fails when the committed ones differ from a fresh render.
 */
import { RUNBOOK_KINDS, runbookPath, type RunbookKind } from '../../shared/operations/runbooks';
import {
  PUBLISH_FAILURE_SUSTAIN_SECONDS,
  RETENTION_HALF_RATIO,
  RETRIES_PER_MINUTE,
  RETRY_SUSTAIN_SECONDS,
  SCHEMA_DEAD_LETTER_WINDOW_SECONDS,
  SCHEMA_DEAD_LETTERS_PER_HOUR,
  SCHEMA_FAILURE_REASONS,
} from '../../infra/signal-thresholds';
import {
  approxDuration,
  BUFFER_WARN_RATIO,
  consumerResources,
  formatDuration,
  subscriptionRetentionSeconds,
  triageSlaSeconds,
  type ConsumerSpec,
  type MeshSpec,
} from '../../shared/spec';

const mesh = (args: string) => `npm run mesh -- ${args}`;
/** Days with a decimal from a day on (a retention reads better as 5.6 d than as 8064m). */
const span = (seconds: number) => (seconds >= 86400 ? approxDuration(seconds) : formatDuration(seconds));

const GENERATED = (spec: MeshSpec) =>
  `<!-- Generated from ${spec.file.split('/').pop()} by \`${mesh('runbooks')}\`; edit the generator (tools/runbooks/render.ts), not this file. -->`;

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const ownerOf = (spec: MeshSpec, c: ConsumerSpec) => c.owner ?? spec.topics[c.topic]?.owner ?? '(no owner in the spec)';
const delivering = (spec: MeshSpec) => Object.values(spec.consumers);
const served = (spec: MeshSpec) => delivering(spec).filter((c) => c.delivery !== 'bigquery');
const where = (c: ConsumerSpec) => (c.service ? `${c.delivery}, ${c.service}` : c.delivery);

interface Runbook {
  title: string;
  fires: string;
  consumers: { header: string[]; rows: (spec: MeshSpec) => string[][] } | undefined;
  diagnose: string[];
  act: string[];
}

const RUNBOOKS: Record<RunbookKind, Runbook> = {
  lag: {
    title: 'A consumer lags past its SLO',
    fires:
      "when a consumer's oldest unacked message is older than its `lagSlo.oldestUnacked`, or its backlog passes `lagSlo.backlog` (GCP: the alert policies `Event mesh: <consumer> ...`; locally `mesh status` shows BREACHED). " +
      `In GCP also when a push or pull consumer's deliveries are retried more than ${RETRIES_PER_MINUTE} times a minute for ${formatDuration(RETRY_SUSTAIN_SECONDS)} (\`<consumer>-retries\`, WARNING: nacks and expired ack deadlines of a pull subscription, push requests not acked), before they lag or run out of attempts.`,
    consumers: {
      header: ['consumer', 'topic', 'delivery', 'oldest unacked SLO', 'backlog SLO', 'owner'],
      rows: (spec) =>
        delivering(spec).map((c) => [`\`${c.name}\``, c.topic, where(c), span(c.lagSlo.oldestUnackedSeconds), String(c.lagSlo.backlog), ownerOf(spec, c)]),
    },
    diagnose: [
      `\`${mesh('status')}\`: which consumers lag, their backlog, oldest unacked age, failures, and whether one is PAUSED (a paused consumer lags on purpose).`,
      "The service's `/readyz` says why it is not ready (a subscription refused, a dependency down); its log has the failures (`transient failure, will be retried`).",
      'A failing dependency (Firestore, BigQuery) makes every message fail as transient: the backlog grows while `failed` rises.',
      '`<consumer>-retries` without lag yet: the same causes, caught early; the incident names the condition (nacks, expired ack deadlines, or push responses by class).',
    ],
    act: [
      'A slow but healthy service: raise its `minInstances` (`event-mesh:scaling.<service>.minInstances`) and `pulumi up`; push services also scale on requests.',
      `A downstream that is out: pause the consumer so nothing is retried into it, and resume when it is back: \`${mesh('pause <consumer> --owner NAME --intent "why"')}\`, then \`${mesh('resume <consumer> --owner NAME --intent "why"')}\`.`,
      'A bad deploy: roll back the service (Cloud Run revisions); messages that failed meanwhile are retried.',
    ],
  },
  'dead-letters': {
    title: 'Dead letters wait in a consumer\u2019s hold',
    fires:
      "when a message reaches a consumer's dead-letter hold (poison: it can never be handled, the reason says why; or a valid event that failed `deadLetter.maxAttempts` times), when one waits there longer than the consumer's `deadLetter.triageSla` (GCP: `<consumer>-triage-sla`, WARNING), and again before the hold's retention runs out and it expires unseen (`<consumer>-triage-escalation`, CRITICAL). Also when a consumer's dead letters have not been copied to BigQuery's `dead_letters` for an hour (`<consumer>-archive-stalled`, WARNING: the warehouse is down or refuses rows; they are still in the hold). " +
      `In GCP also when more than ${SCHEMA_DEAD_LETTERS_PER_HOUR} of a consumer's messages are dead-lettered for breaking the topic's contract within ${formatDuration(SCHEMA_DEAD_LETTER_WINDOW_SECONDS)} (\`<consumer>-schema-dead-letters\`, ERROR; reasons ${SCHEMA_FAILURE_REASONS.map((r) => `\`${r}\``).join(', ')}), and when a topic refuses its producers' publishes in every minute for ${formatDuration(PUBLISH_FAILURE_SUSTAIN_SECONDS)} (\`<topic>-publish-failures\`, ERROR; class \`invalid\` is the same bad input, stopped at the topic).`,
    consumers: {
      header: ['consumer', 'topic', 'max attempts', 'triage SLA', 'hold subscription', 'owner'],
      rows: (spec) =>
        delivering(spec).map((c) => [
          `\`${c.name}\``,
          c.topic,
          String(c.deadLetter.maxAttempts),
          span(triageSlaSeconds(c)),
          `\`${consumerResources(c).deadLetterHold}\``,
          ownerOf(spec, c),
        ]),
    },
    diagnose: [
      `\`${mesh('dead-letters')}\`: every hold grouped by consumer, owner and reason, the oldest against the triage SLA (past-SLA groups first).`,
      `\`${mesh('dead-letters <consumer> --since 2h')}\`: every held message with its reason and error (\`--since\`/\`--until\`: when it was dead-lettered).`,
      'Every dead letter, also those redriven, purged or expired: BigQuery `dead_letters` (consumer, reason, error, event_id, data, attributes, dead_lettered_at).',
      "`reason: max-delivery-attempts`: valid events whose service kept failing; the service's log around the time shows why.",
      'Any other reason (schema, envelope, handler): poison. The producer sent something no consumer can handle; tell its owner (the topic owner above).',
      "`<topic>-publish-failures`: the incident's `response_class` says how. `invalid`: the producer sends what the topic refuses (data that matches no accepted schema revision, a missing permission); it must change, and publish again what was refused. `internal`: Pub/Sub's side, retried by the client libraries. The producer's `publisher.stats()` has the codes (docs/producers.md).",
    ],
    act: [
      `Once the cause is fixed, send the valid ones back to that consumer only, audited, at most \`--rate\` a second (default 100): \`${mesh('dead-letters <consumer> --redrive --reason max-delivery-attempts --owner NAME --intent "why"')}\`.`,
      `Or chosen events: \`--events id1,id2\`, or a time range: \`--since\`/\`--until\`. Check with \`${mesh('audit --consumer <consumer>')}\`.`,
      `Poison understood and not worth keeping: \`${mesh('dead-letters <consumer> --purge --reason R --owner NAME --intent "why"')}\` (audited; the copies in \`dead_letters\` stay).`,
      'Held messages expire with the hold subscription\u2019s retention; their copies in `dead_letters` stay.',
    ],
  },
  buffer: {
    title: 'A paused or lagging consumer is about to lose messages',
    fires:
      `when a consumer's oldest unacked message reaches ${Math.round(BUFFER_WARN_RATIO * 100)} % of its subscription's retention: past the retention Pub/Sub drops it (\`mesh status\` and the dashboard: BUFFER AT RISK). ` +
      `In GCP a WARNING comes first, at ${Math.round(RETENTION_HALF_RATIO * 100)} % of its topic's retention (\`<consumer>-retention-half\`): past the topic's retention a seek or replay from the topic no longer covers the consumer's gap, only the warehouse does.`,
    consumers: {
      header: ['consumer', 'topic', 'retention', `fires at (${Math.round(BUFFER_WARN_RATIO * 100)} %)`, 'owner'],
      rows: (spec) =>
        served(spec).map((c) => {
          const retention = subscriptionRetentionSeconds(c);
          return [`\`${c.name}\``, c.topic, span(retention), span(Math.floor(retention * BUFFER_WARN_RATIO)), ownerOf(spec, c)];
        }),
    },
    diagnose: [
      `\`${mesh('status')}\`: is the consumer PAUSED (by whom, why, since when) or lagging (see the lag runbook)?`,
      `\`${mesh('audit --consumer <consumer>')}\`: who paused it and the intent they gave.`,
    ],
    act: [
      `Resume it now if its downstream can take the backlog: \`${mesh('resume <consumer> --owner NAME --intent "why"')}\`.`,
      `If it cannot, what passes the retention is lost to this consumer only: the warehouse still has every event, and \`${mesh('replay request --consumer <consumer> --from T1 --to T2 --owner NAME --intent "why"')}\` sends them again later.`,
    ],
  },
  anomalies: {
    title: 'Order anomalies',
    fires:
      'when the processor finds events that break an order\u2019s lifecycle (a gap in its sequence, a stale event, an impossible transition, a step for an unknown order) more often than `alerts.anomalies.threshold` within its window.',
    consumers: undefined,
    diagnose: [
      `\`${mesh('status')}\`: anomalies per topic and kind, and the latest offending orders; the dashboard's anomalies panel the same.`,
      "The processor's `GET /orders/<orderId>`: the order's projection, its history and each anomaly with its reason.",
      `\`${mesh('parity')}\`: whether the processor's projections still agree with the warehouse's events.`,
    ],
    act: [
      "Anomalies are the producer's: tell the topic's owner which orders and why (the reason names the sequence numbers and states).",
      `A projection made wrong (events lost or reordered upstream): rebuild it from the warehouse, \`${mesh('replay request --consumer processor-orders --keys <orderId> --from T1 --to T2 --rebuild --owner NAME --intent "why"')}\` (docs/operations.md, the rebuild runbook).`,
    ],
  },
  parity: {
    title: 'The sinks disagree',
    fires: 'when the scheduled `mesh parity` finds a window where the warehouse, the dashboard and the processor do not tell the same story.',
    consumers: undefined,
    diagnose: [
      `\`${mesh('parity --since 24h')}\`: each mismatch, in which sink and window, with the counts on each side.`,
      `\`${mesh('status')}\` and \`${mesh('dead-letters <consumer>')}\`: a sink that lags or holds dead letters is \`pending\`, not a mismatch, until it drains.`,
    ],
    act: [
      'A processor projection that differs: rebuild those keys (`mesh replay request ... --rebuild`, docs/operations.md).',
      'A dashboard window that differs: replay the window to the dashboard consumer (`mesh replay request --consumer dashboard-<topic> --from --to`).',
      'A warehouse row missing: replay it to the warehouse consumer; dedup keeps analysts\u2019 counts right.',
    ],
  },
};

/** One runbook's markdown. */
export function renderRunbook(spec: MeshSpec, kind: RunbookKind): string {
  const book = RUNBOOKS[kind];
  const parts = [GENERATED(spec), '', `# ${book.title}`, '', `**Fires** ${book.fires}`, ''];
  if (book.consumers) parts.push('## Consumers', '', table(book.consumers.header, book.consumers.rows(spec)), '');
  parts.push('## Diagnose', '', ...book.diagnose.map((d) => `1. ${d}`), '', '## Act', '', ...book.act.map((a) => `1. ${a}`), '');
  parts.push('Every command that changes what a consumer receives needs `--owner` and `--intent` and is recorded: `npm run mesh -- audit`.', '');
  const owners = Object.values(spec.owners);
  if (owners.length)
    parts.push(
      '## Owners',
      '',
      'Alerts go to the owner of the consumer (or topic) that fired; reach them here:',
      '',
      table(
        ['owner', 'what', 'channels'],
        owners.map((o) => [
          o.name,
          o.description ?? '',
          o.channels.map((c) => (c.kind === 'email' ? c.address : c.kind === 'pubsub' ? `Pub/Sub topic ${c.topic}` : `\`${c.name}\``)).join(', '),
        ]),
      ),
      '',
    );
  return parts.join('\n');
}

/** Every runbook: path from the repository root -> markdown. */
export function renderRunbooks(spec: MeshSpec): Record<string, string> {
  return Object.fromEntries(RUNBOOK_KINDS.map((kind) => [runbookPath(kind), renderRunbook(spec, kind)]));
}
