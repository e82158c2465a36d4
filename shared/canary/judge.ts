/**
 * Whether a canary should go on: the spec's policy (consumer `canary.errorMargin`, `canary.minEvents`)
 * against the two sides' reports. The stable instances judge every few seconds and abort on their own
 * (runtime.ts); `mesh canary status` shows the same verdict.
 */
import { DEFAULT_CANARY_POLICY, type CanaryPolicy } from '../spec/types';
import type { SideReport } from './control';
import type { CanarySide } from './routing';
import { addCounts, emptyCounts, errorRateOf, LatencyHistogram, type SideCounts } from './side-stats';

export interface SideSummary {
  side: CanarySide;
  instances: number;
  counts: SideCounts;
  errorRate: number;
  p50Ms?: number;
  p99Ms?: number;
}

export interface CanaryVerdict {
  /** `abort`: the canary is worse than the margin allows; `wait`: too few events to say; `healthy`: within the margin. */
  decision: 'abort' | 'wait' | 'healthy';
  reason: string;
  canary: SideSummary;
  stable: SideSummary;
}

/** Adds up one side's reports. */
export function summarize(reports: readonly SideReport[], side: CanarySide): SideSummary {
  const mine = reports.filter((r) => r.side === side);
  const counts = mine.reduce((sum, r) => addCounts(sum, r.counts), emptyCounts());
  const latency = mine.reduce((sum, r) => sum.add(new LatencyHistogram(r.latency)), new LatencyHistogram());
  return { side, instances: mine.length, counts, errorRate: errorRateOf(counts), p50Ms: latency.quantile(0.5), p99Ms: latency.quantile(0.99) };
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;

export function judge(reports: readonly SideReport[], policy: CanaryPolicy = DEFAULT_CANARY_POLICY): CanaryVerdict {
  const canary = summarize(reports, 'canary');
  const stable = summarize(reports, 'stable');
  // Both sides: a stable rate of nothing yet would make any failure of the canary look like a regression
  // (and a shared outage, failing both, would abort a good build).
  for (const side of [canary, stable])
    if (side.counts.handled < policy.minEvents)
      return {
        decision: 'wait',
        reason: `the ${side.side} side handled ${side.counts.handled} of the ${policy.minEvents} deliveries each side is judged on`,
        canary,
        stable,
      };
  const excess = canary.errorRate - stable.errorRate;
  const compared = `canary error rate ${percent(canary.errorRate)} against stable ${percent(stable.errorRate)} (margin ${percent(policy.errorMargin)})`;
  return excess > policy.errorMargin ? { decision: 'abort', reason: compared, canary, stable } : { decision: 'healthy', reason: compared, canary, stable };
}
