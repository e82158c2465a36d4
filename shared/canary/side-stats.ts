/**
 * What one side of a canary did: deliveries by outcome and a handling-time histogram. Instances
 * report theirs (control.ts SideReport); `mesh canary status` and the judge add the reports of a side
 * together, which is why the histogram has fixed buckets (two histograms merge by adding counts).
 */
import type { Outcome } from '../consumer/types';

export interface SideCounts {
  /** Deliveries this side took (redeliveries count again). */
  handled: number;
  /** Effects written (done) or seen before (duplicate). */
  succeeded: number;
  /** Failed and sent back to be retried. */
  failed: number;
  deadLettered: number;
}

export const emptyCounts = (): SideCounts => ({ handled: 0, succeeded: 0, failed: 0, deadLettered: 0 });

/** A delivery that did not succeed: the error rate the judge compares. */
export const errorRateOf = (c: SideCounts) => (c.handled ? (c.failed + c.deadLettered) / c.handled : 0);

export function addCounts(a: SideCounts, b: SideCounts): SideCounts {
  return { handled: a.handled + b.handled, succeeded: a.succeeded + b.succeeded, failed: a.failed + b.failed, deadLettered: a.deadLettered + b.deadLettered };
}

/** Bucket upper bounds in ms: 1-2-5 steps from 1 ms to 60 s, then everything above. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 60_000];

/** Handling times in fixed buckets; a quantile answers the bucket's upper bound (at most 2.5x off, enough to compare two sides). */
export class LatencyHistogram {
  readonly counts: number[];

  constructor(counts?: readonly number[]) {
    this.counts = LATENCY_BOUNDS_MS.map((_, i) => counts?.[i] ?? 0).concat(counts?.[LATENCY_BOUNDS_MS.length] ?? 0);
  }

  record(ms: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]) i++;
    this.counts[i]++;
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  add(other: LatencyHistogram): LatencyHistogram {
    return new LatencyHistogram(this.counts.map((c, i) => c + other.counts[i]));
  }

  /** The bucket bound under which `q` (0..1) of the times lie; Infinity for the overflow bucket, undefined when empty. */
  quantile(q: number): number | undefined {
    const total = this.total;
    if (!total) return undefined;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return LATENCY_BOUNDS_MS[i] ?? Infinity;
    }
    return Infinity;
  }

  toJSON(): number[] {
    return [...this.counts];
  }
}

/** One side's running numbers, kept by the runtime for the canary in force. */
export class SideStats {
  readonly counts = emptyCounts();
  readonly latency = new LatencyHistogram();

  record(outcome: Outcome, ms: number): void {
    this.counts.handled++;
    if (outcome === 'done' || outcome === 'duplicate') this.counts.succeeded++;
    else if (outcome === 'dead-lettered') this.counts.deadLettered++;
    else this.counts.failed++;
    this.latency.record(ms);
  }
}
