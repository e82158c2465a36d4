/**
 * The blast radius of a replay, before anything is sent (`--dry-run`, and the first lines of a real
 * run): events in scope per type, distinct keys, how many the consumer has applied already (sent
 * again, deduplicated) against those it will apply, the time it takes at the ceiling, the
 * consumer's real-time lag against its SLO, and where the warehouse does not cover the range.
 */
import type { MeshSpec } from '../spec/types';
import { describeScope, type ReplayRequest } from './request';
import type { Coverage, WarehouseReplaySource } from './source';

export interface ConsumerLag {
  oldestUnackedSeconds: number | null;
  backlog: number | null;
}

export interface ReplayPlan {
  request: ReplayRequest;
  inScope: number;
  perType: Record<string, number>;
  keys: number;
  coverage: Coverage;
  /** Events in scope the consumer has applied already (its dedup drops them), when it can be told. */
  alreadyApplied?: number;
  estimatedSeconds: number;
  lag?: ConsumerLag;
  lagSloSeconds: number;
  warnings: string[];
  /** What stops the replay from running (a rebuild that would not cover its keys' whole history). */
  blockers: string[];
}

export interface PlanOptions {
  /** How many of these event ids the consumer has applied (undefined: cannot tell). */
  applied?: (eventIds: string[]) => Promise<number | undefined>;
  /** The consumer's real-time lag now (undefined: not known). */
  lag?: () => Promise<ConsumerLag | undefined>;
}

export async function planReplay(spec: MeshSpec, source: WarehouseReplaySource, request: ReplayRequest, options: PlanOptions = {}): Promise<ReplayPlan> {
  const consumer = spec.consumers[request.consumer];
  const [summary, coverage, lag, outside] = await Promise.all([
    source.summary(request.scope, { eventIds: Boolean(options.applied) }),
    source.coverage(request.scope.topic),
    options.lag?.().catch(() => undefined),
    request.rebuild ? source.outsideScope(request.scope) : 0,
  ]);
  const blockers = outside
    ? [`${outside} event(s) of these keys lie outside the range: a rebuild must replay each key's whole history (widen --from and --to)`]
    : [];
  const alreadyApplied = options.applied && summary.eventIds ? await options.applied(summary.eventIds) : undefined;
  const warnings: string[] = [];
  const { from, to, topic } = request.scope;
  if (!coverage.newest) warnings.push(`the warehouse holds no event of topic ${topic}: nothing can be replayed`);
  else {
    if (coverage.oldest && Date.parse(from) < Date.parse(coverage.oldest))
      warnings.push(`the warehouse holds ${topic} events published from ${coverage.oldest} only: nothing published before it is replayed`);
    if (Date.parse(to) > Date.parse(coverage.newest))
      warnings.push(
        `the warehouse holds ${topic} events published up to ${coverage.newest}: any published after it and not loaded yet are not replayed (wait for the warehouse to catch up, or replay that part later)`,
      );
  }
  if (lag?.oldestUnackedSeconds !== null && lag?.oldestUnackedSeconds !== undefined && lag.oldestUnackedSeconds > consumer.lagSlo.oldestUnackedSeconds)
    warnings.push(
      `${consumer.name} is behind its SLO already (oldest unacked ${Math.round(lag.oldestUnackedSeconds)} s, SLO ${consumer.lagSlo.oldestUnackedSeconds} s)`,
    );
  return {
    request,
    inScope: summary.events,
    perType: summary.perType,
    keys: summary.keys,
    coverage,
    ...(alreadyApplied !== undefined ? { alreadyApplied } : {}),
    estimatedSeconds: summary.events / request.ceilingPerSecond,
    ...(lag ? { lag } : {}),
    lagSloSeconds: consumer.lagSlo.oldestUnackedSeconds,
    warnings,
    blockers,
  };
}

const duration = (seconds: number) =>
  seconds < 90 ? `${Math.ceil(seconds)} s` : seconds < 5400 ? `${Math.ceil(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;

/** The plan as the lines a person reads before saying yes. */
export function planLines(plan: ReplayPlan): string[] {
  const { request } = plan;
  const types = Object.entries(plan.perType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${n} ${type}`)
    .join(', ');
  const applied = request.rebuild
    ? `rebuild: first clears the projections of these ${plan.keys} keys (and their anomalies) and ${request.consumer}'s dedup records of the ${plan.inScope} events, so all of them take effect again`
    : plan.alreadyApplied === undefined
      ? 'effects: the consumer deduplicates by event id, so only what it has not applied takes effect'
      : `effects: ${plan.inScope - plan.alreadyApplied} to apply, ${plan.alreadyApplied} applied already (sent, then dropped by its dedup)`;
  const lag = plan.lag
    ? `real-time lag of ${request.consumer} now: oldest unacked ${plan.lag.oldestUnackedSeconds === null ? 'none' : `${Math.round(plan.lag.oldestUnackedSeconds)} s`}, backlog ${plan.lag.backlog ?? 'unknown'} (SLO ${plan.lagSloSeconds} s)`
    : `real-time lag of ${request.consumer} now: unknown (SLO ${plan.lagSloSeconds} s)`;
  return [
    `replay ${request.id} to ${request.consumer} only (through ${request.consumer}-redrive), for ${request.owner}: ${request.intent}`,
    `scope: ${describeScope(request.scope)}`,
    `in scope: ${plan.inScope} events${types ? ` (${types})` : ''}, ${plan.keys} distinct ordering keys`,
    applied,
    `ceiling ${request.ceilingPerSecond}/s: about ${duration(plan.estimatedSeconds)}`,
    lag,
    ...plan.warnings.map((w) => `warning: ${w}`),
    ...plan.blockers.map((b) => `refused: ${b}`),
  ];
}
