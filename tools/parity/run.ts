/**
 * `mesh parity`, the part that does not print: for each topic, every closed window since `since`,
 * the dashboard and the processor against the warehouse, and the dead-letter holds against each
 * other (docs/parity.md). The same code for the local mesh and a deployed stack: only the target
 * (tools/smoke/target.ts) and the lag source (lag.ts) differ.
 */
import { listHeld, type HeldMessage, type HoldListingStats } from '../../shared/consumer/dead-letter-hold';
import { ANOMALY_SOURCE_SERVICE } from '../../shared/anomalies';
import { anomalyTopics, readAnomalies } from '../../shared/firestore';
import type { MeshSpec } from '../../shared/spec';
import { UserError } from '../../shared/errors';
import { windowStart, type Granularity } from '../../services/dashboard/windows';
import type { SmokeTarget } from '../smoke/target';
import { heldStored, LagJudge, sinkConsumers, type ConsumerLag, type ParityContext } from './context';
import { dashboardRows } from './dashboard-checks';
import { deadLetterRows } from './dead-letter-checks';
import { processorRows } from './processor-checks';
import { FirestoreSinks } from './sinks';
import type { ParityReport, ParityRow, Sink } from './types';
import { WarehouseReference } from './warehouse';

export interface ParityOptions {
  spec: MeshSpec;
  target: SmokeTarget;
  /** Window size. Default hour. */
  granularity?: Granularity;
  /** Compare windows from the one holding this time (ms). Default 24 hours ago. */
  sinceMs?: number;
  /** Only these topics. Default every topic with a warehouse consumer. */
  topics?: string[];
  /** Consumer lag (lag.ts); undefined: unknown, windows judged as if drained (with a warning). */
  lag?: ConsumerLag;
  /** Why the lag is unknown, for that warning. */
  lagUnknownBecause?: string;
  /** A window is judged only this long after it ended. Default 60 s. */
  settleMs?: number;
  /** Ids shown per difference. Default 5. */
  sample?: number;
  /** At most this many messages read from each dead-letter hold. Default 10 000. */
  maxHeld?: number;
  /**
   * Held messages left out of every comparison: ones that never came through the topic, so no other
   * consumer could have seen them (the fault suite's bodies posted straight to one push endpoint).
   */
  ignoreHeld?: (message: HeldMessage) => boolean;
  /** Each hold listing's figures, when it ends (the fault suite logs them). */
  onHoldListed?: (stats: HoldListingStats) => void;
  /** The clock. */
  now?: number;
  onProgress?: (line: string) => void;
}

export async function runParity(options: ParityOptions): Promise<ParityReport> {
  const { spec, target } = options;
  const granularity = options.granularity ?? 'hour';
  const now = options.now ?? Date.now();
  const fromMs = windowStart(granularity, options.sinceMs ?? now - 24 * 3600_000);
  const untilMs = windowStart(granularity, now);
  const progress = options.onProgress ?? (() => undefined);
  const warnings: string[] = [];
  const topics = options.topics ?? Object.keys(spec.topics);
  for (const t of topics) if (!spec.topics[t]) throw new UserError(`no topic "${t}" in the spec; topics: ${Object.keys(spec.topics).join(', ')}`);
  const compared = topics.filter((t) => {
    if (sinkConsumers(spec, t).warehouse) return true;
    warnings.push(`topic ${t}: no warehouse consumer, nothing to compare against`);
    return false;
  });
  if (options.lag === undefined) {
    warnings.push(`consumer lag unknown${options.lagUnknownBecause ? ` (${options.lagUnknownBecause})` : ''}: windows are judged as if drained`);
  }

  const ctx: ParityContext = {
    spec,
    target,
    granularity,
    fromMs,
    untilMs,
    now,
    sample: options.sample ?? 5,
    warehouse: new WarehouseReference(target.bigquery, spec, target.project),
    sinks: new FirestoreSinks(target.firestore),
    lag: new LagJudge(options.lag, now, options.settleMs ?? 60_000),
    held: new Map(),
    warnings,
  };

  progress('reading the dead-letter holds');
  const maxHeld = options.maxHeld ?? 10_000;
  await Promise.all(
    compared.flatMap((t) =>
      Object.values(sinkConsumers(spec, t)).map(async (consumer) => {
        const held = await listHeld(target.pubsub, consumer, { max: maxHeld, idleMs: 2500, onListed: options.onHoldListed }).catch((error: Error) => {
          warnings.push(`${consumer.name}: cannot read its dead-letter hold (${error.message})`);
          return [] as HeldMessage[];
        });
        if (options.ignoreHeld) held.splice(0, held.length, ...held.filter((m) => !options.ignoreHeld!(m)));
        if (held.length >= maxHeld) warnings.push(`${consumer.name}: its hold has ${maxHeld} or more messages; only ${maxHeld} were read`);
        const byId = new Map<string, HeldMessage>();
        let anonymous = 0;
        for (const m of held) {
          if (m.eventId) byId.set(m.eventId, byId.get(m.eventId) ?? m);
          else anonymous++;
        }
        if (anonymous) warnings.push(`${consumer.name}: ${anonymous} held message(s) without an event id cannot be matched to any sink`);
        ctx.held.set(consumer.name, byId);
      }),
    ),
  );

  const hasDashboard = compared.some((t) => sinkConsumers(spec, t).dashboard);
  const dashboardWindows = hasDashboard ? await ctx.sinks.dashboardWindows(granularity, fromMs, untilMs) : new Map();
  const likeTopics = compared.filter((t) => sinkConsumers(spec, t).dashboard && spec.topics[t].eventTypes.some((type) => type.startsWith('like.')));
  if (likeTopics.length > 1) warnings.push(`net likes not compared: topics ${likeTopics.join(', ')} all carry likes and the dashboard keeps one number`);

  const rows: ParityRow[] = [];
  for (const topic of compared) {
    const consumers = sinkConsumers(spec, topic);
    const stored = await ctx.warehouse.has(
      topic,
      [consumers.dashboard, consumers.processor].flatMap((c) => (c ? [...(ctx.held.get(c.name)?.keys() ?? [])] : [])),
    );
    if (consumers.dashboard) {
      progress(`${topic}: dashboard windows against the warehouse`);
      rows.push(
        ...(await dashboardRows(ctx, {
          topic,
          consumer: consumers.dashboard.name,
          windows: dashboardWindows,
          heldStored: heldStored(ctx, consumers.dashboard.name, stored),
          ownsLikes: likeTopics.length === 1 && likeTopics[0] === topic,
        })),
      );
    }
    if (consumers.processor) {
      progress(`${topic}: processor effects against the warehouse`);
      rows.push(
        ...(await processorRows(ctx, {
          topic,
          consumer: consumers.processor.name,
          warehouseConsumer: consumers.warehouse!.name,
          heldIds: new Set(ctx.held.get(consumers.processor.name)?.keys() ?? []),
        })),
      );
    }
    progress(`${topic}: dead-letter holds`);
    const names = Object.fromEntries(Object.entries(consumers).map(([sink, c]) => [sink, c.name])) as Partial<Record<Sink, string>>;
    rows.push(...(await deadLetterRows(ctx, { topic, consumers: names })));
  }

  const anomalyTopicsOfSpec = anomalyTopics(spec, ANOMALY_SOURCE_SERVICE);
  const anomalies = anomalyTopicsOfSpec.length ? (await readAnomalies(target.firestore, anomalyTopicsOfSpec, { since: fromMs, latest: 0 })).counts : {};
  return {
    at: new Date(now).toISOString(),
    target: target.kind,
    project: target.project,
    granularity,
    since: new Date(fromMs).toISOString(),
    until: new Date(untilMs).toISOString(),
    topics: compared,
    rows,
    mismatches: rows.filter((r) => r.verdict === 'mismatch').length,
    pending: rows.filter((r) => r.verdict === 'pending').length,
    anomalies,
    warnings,
  };
}

/** 1 when any row is a mismatch (pending rows are not failures: they are judged on a later run). */
export function parityExitCode(report: ParityReport): number {
  return report.mismatches ? 1 : 0;
}
