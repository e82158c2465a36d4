import type { Command } from 'commander';
import { describeAnomalies } from '../../shared/firestore';
import type { MetricServiceClient } from '@google-cloud/monitoring';
import type { ConsumerHealth } from '../../shared/health/types';
import type { TopicHotKeys } from '../../shared/health/hot-keys';
import { approxDuration, loadSpec, type MeshSpec } from '../../shared/spec';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';
import { readMeshStatus, STATUS_CALL_TIMEOUT_MS, type MeshStatus } from '../status/read-local';

// What the command reads lives in tools/status/read-local.ts; tests and tools import it from here too.
export * from '../status/read-local';

/** A health reading this old is called out (the dashboard reads every 2 s). */
export const STALE_HEALTH_SECONDS = 30;

const STATE_TEXT: Record<string, string> = {
  ok: 'ok',
  'dead-letters': 'DEAD LETTERS',
  breached: 'BREACHED',
  paused: 'PAUSED',
  'buffer-at-risk': 'BUFFER AT RISK',
};

/**
 * The oldest unacked message's age as a share of the retention, in whole percent rounded down (79.9 %
 * shows as 79 %, never as the 80 % that warns); times 100 before dividing, so 80 % is exactly 80.
 */
const percent = (h: Pick<ConsumerHealth, 'oldestUnackedSeconds' | 'retentionSeconds'>) =>
  `${Math.floor(((h.oldestUnackedSeconds ?? 0) * 100) / h.retentionSeconds)}%`;
function age(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return seconds < 172800 ? `${(seconds / 3600).toFixed(1)} h` : approxDuration(seconds);
}

/**
 * A deployed stack's status, from Cloud Monitoring alone (the health the dashboard shows in GCP:
 * shared/health/cloud-monitoring.ts): backlog, lag, buffer, dead letters held and their oldest age.
 * The services' counters are not read from here (Cloud Run services are not reachable from a
 * laptop without a token); `client` is the Monitoring client, given by tests.
 */
export async function readGcpStatus(spec: MeshSpec, project: string, client?: MetricServiceClient): Promise<MeshStatus> {
  // Loaded for --gcp only: the Monitoring client is a quarter of what `mesh status` would load.
  const { CloudMonitoringHealth } = await import('../../shared/health/cloud-monitoring');
  const source = new CloudMonitoringHealth(spec, project, client);
  try {
    const health = new Map((await source.read()).map((h) => [h.consumer, h]));
    return {
      at: new Date().toISOString(),
      services: {},
      anomalies: null,
      hotKeys: null,
      consumers: Object.values(spec.consumers).map((c) => {
        const { consumer: _c, topic: _t, ...h } = health.get(c.name)!;
        return { consumer: c.name, topic: c.topic, delivery: c.delivery, service: c.service ?? null, counters: null, health: h };
      }),
    };
  } finally {
    if (!client) await source.close();
  }
}

/**
 * Deliveries a consumer's service failed and sent back for a retry (nack, 5xx: `failed`) as a share
 * of what it received, since the service started. Google: "A background rate of retryable errors
 * (lower than 1%) is not a cause for concern" (https://cloud.google.com/pubsub/docs/monitoring), so
 * status speaks from 1 %. In GCP the `<c>-retries` alert watches Pub/Sub's own counts.
 */
export const RETRY_WARN_SHARE = 0.01;

export function retryLines(status: Pick<MeshStatus, 'consumers'>): string[] {
  return status.consumers
    .filter((c) => c.counters && c.counters.received > 0 && c.counters.failed / c.counters.received >= RETRY_WARN_SHARE)
    .map((c) => {
      const { failed, received } = c.counters!;
      return `${c.consumer}: ${failed} of ${received} deliveries failed and were retried (${((failed * 100) / received).toFixed(1)}%): see its service's log`;
    });
}

/** One line per consumer with dead letters held: how many, the oldest against its triage SLA, why. */
export function deadLetterLines(status: Pick<MeshStatus, 'consumers'>): string[] {
  const lines: string[] = [];
  for (const c of status.consumers) {
    const hold = c.health?.hold;
    const schema = hold?.schemaFailuresLastHour ? `; ${hold.schemaFailuresLastHour} schema failure(s) in the last hour` : '';
    if (!hold?.held) {
      if (schema) lines.push(`${c.consumer}: no dead letters held${schema}`);
      continue;
    }
    const oldest =
      hold.oldestSeconds === null
        ? ''
        : `, oldest ${age(hold.oldestSeconds)} of its ${approxDuration(hold.triageSlaSeconds)} triage SLA${hold.pastSla ? ' (PAST SLA)' : ''}`;
    const reasons = hold.topReasons?.length ? `; reasons: ${hold.topReasons.map((r) => `${r.reason} ${r.count}`).join(', ')}` : '';
    lines.push(`${c.consumer}: ${hold.held} dead letter(s) held${oldest}${reasons}${schema}; triage: npm run mesh -- dead-letters ${c.consumer}`);
  }
  return lines;
}

/** Per topic with traffic: its hottest ordering keys, their share, events/s and use of Pub/Sub's per-key limit. */
export function hotKeyLines(hotKeys: TopicHotKeys[] | null): string[] {
  return (hotKeys ?? [])
    .filter((t) => t.keys.length)
    .map(
      (t) =>
        `hot keys of ${t.topic} (last ${t.windowSeconds} s, ${t.events} events): ` +
        t.keys
          .map((k) => `${k.key} ${Math.round(k.share * 100)}% ${k.perSecond.toFixed(1)}/s (${(k.ofKeyLimit * 100).toFixed(1)}% of the 1 MB/s key limit)`)
          .join(', '),
    );
}

/** What `mesh status` prints: the consumer table, then one line per paused consumer, buffer warning and service note. */
export function statusReport(status: MeshStatus): { head: string[]; rows: string[][]; lines: string[] } {
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));
  const head = [
    'consumer',
    'delivery',
    'received',
    'done',
    'duplicates',
    'dead-lettered',
    'failed',
    'backlog',
    'lag s',
    'lag SLO s',
    'buffer',
    'replay path',
    'status',
  ];
  const rows = status.consumers.map((c) => [
    c.consumer,
    c.service ? `${c.delivery} ${c.service}` : c.delivery,
    n(c.counters?.received),
    n(c.counters?.done),
    n(c.counters?.duplicate),
    n(c.counters?.deadLettered),
    n(c.counters?.failed),
    n(c.health?.backlog),
    c.health?.oldestUnackedSeconds === null || c.health?.oldestUnackedSeconds === undefined ? '-' : c.health.oldestUnackedSeconds.toFixed(1),
    n(c.health?.slo.oldestUnackedSeconds),
    // The oldest unacked message's age against what the subscription keeps: past 100 % it is gone.
    c.health ? `${percent(c.health)} of ${approxDuration(c.health.retentionSeconds)}` : '-',
    n(c.health?.privatePath?.backlog),
    c.health ? (STATE_TEXT[c.health.state] ?? c.health.state) : '?',
  ]);
  const lines: string[] = [];
  for (const c of status.consumers) {
    const h = c.health;
    if (!h?.paused) continue;
    const { since, owner, intent } = h.paused;
    const waiting =
      h.oldestUnackedSeconds === null
        ? `backlog ${h.backlog}`
        : `backlog ${h.backlog}, oldest ${age(h.oldestUnackedSeconds)} = ${percent(h)} of its ${approxDuration(h.retentionSeconds)} retention`;
    lines.push(
      `${c.consumer}: PAUSED since ${since} by ${owner}: ${intent}; ${waiting}; resume: npm run mesh -- resume ${c.consumer} --owner NAME --intent "why"`,
    );
  }
  for (const c of status.consumers) {
    const h = c.health;
    if (!h?.bufferAtRisk) continue;
    lines.push(
      `WARNING: ${c.consumer}${h.paused ? ' (paused)' : ''}: its oldest unacked message is at ${percent(h)} of the subscription's ` +
        `${approxDuration(h.retentionSeconds)} retention: past it Pub/Sub drops messages`,
    );
  }
  for (const c of status.consumers) {
    const h = c.health;
    if (!h?.pastHalfTopicRetention || !h.topicRetentionSeconds) continue;
    lines.push(
      `WARNING: ${c.consumer}: its oldest unacked message is older than half the topic's ${approxDuration(h.topicRetentionSeconds)} retention: ` +
        'a replay from the topic can soon no longer cover its gap',
    );
  }
  for (const [consumer, c] of Object.entries(status.canaries ?? {}))
    lines.push(`${consumer}: CANARY ${c.canaryId} takes ${c.share}% of the buckets since ${c.since}; side by side: npm run mesh -- canary status ${consumer}`);
  lines.push(...retryLines(status));
  lines.push(...deadLetterLines(status));
  lines.push(...hotKeyLines(status.hotKeys));
  if (status.anomalies) lines.push(describeAnomalies(status.anomalies));
  const supervised = [
    ...Object.entries(status.services).map(([name, s]) => [name, s.supervisor] as const),
    ...Object.entries(status.emulators ?? {}).map(([name, e]) => [`the ${name} emulator`, e] as const),
  ];
  for (const [name, sup] of supervised) {
    if (!sup || (!sup.restarts && sup.state === 'running')) continue;
    const exit = sup.lastExit ? `, last exit ${sup.lastExit.signal ?? `code ${sup.lastExit.code}`} at ${sup.lastExit.at}` : '';
    lines.push(`${name}: ${sup.state}, restarted ${sup.restarts} time${sup.restarts === 1 ? '' : 's'} by npm start${exit}`);
  }
  const healthAge = status.healthAge?.ageSeconds;
  if (healthAge !== undefined && healthAge !== null && healthAge >= STALE_HEALTH_SECONDS)
    lines.push(
      `consumer health is ${age(healthAge)} old (the dashboard's last reading, at ${status.healthAge!.asOf}): its monitor is behind; see the dashboard's log`,
    );
  const down = Object.entries(status.services).filter(([, s]) => !s.up || s.error);
  for (const [name, s] of down) lines.push(`${name} (${s.url}): ${s.up || s.timedOut ? s.error : `not reachable: ${s.error}`}`);
  return { head, rows, lines };
}

export function register(program: Command): void {
  program
    .command('status')
    .description('per consumer: received / done / duplicates / dead-lettered from the running services, backlog and lag from the dashboard')
    .option('--json', 'print JSON instead of a table')
    .option('--gcp', "a deployed stack: consumer health from Cloud Monitoring (application default credentials; the services' counters are not read)")
    .option('--project <id>', 'GCP project (with --gcp; default GOOGLE_CLOUD_PROJECT, else the spec project)')
    .action(async (options: { json?: boolean; gcp?: boolean; project?: string }) => {
      const spec = loadSpec(program.opts().spec);
      const status = options.gcp
        ? await readGcpStatus(spec, options.project ?? process.env.GOOGLE_CLOUD_PROJECT ?? spec.project)
        : await readMeshStatus(spec, undefined, { timeoutMs: STATUS_CALL_TIMEOUT_MS });
      if (options.json) {
        console.log(JSON.stringify(status, null, 2));
      } else {
        const report = statusReport(status);
        printTable(report.head, report.rows);
        for (const line of report.lines) console.log(line);
      }
      if (!options.gcp && Object.values(status.services).every((s) => !s.up && !s.timedOut)) {
        throw new UserError('no service is running: start the mesh with `npm start` first');
      }
    });
}
