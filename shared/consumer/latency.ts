/**
 * Publish-to-effect latency per consumer: from the message's Pub/Sub publish time to the moment its
 * handler finished, which is when the effect is visible in the sink (every sink acks only after its
 * write: the dashboard's window commit, the processor's projection, the warehouse's insert). Served
 * in /stats as p50/p95/p99 over the last window, so a benchmark or an operator reads the latency of
 * what is happening now, not since start.
 *
 * A fixed ring of (time, latency) pairs in typed arrays: two stores per event on the hot path, no
 * allocation; the percentiles are computed when /stats is read.
 */

/** Summaries cover the events handled within this window before the read. */
export const LATENCY_WINDOW_MS = 60_000;
/** Samples kept per consumer: a minute at over 800 events/s; beyond that the window is shorter. */
export const LATENCY_CAPACITY = 50_000;

export interface LatencySummary {
  /** Events handled within the window (at most the capacity). */
  count: number;
  /** Milliseconds from publish to effect. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  windowMs: number;
}

export class LatencyRecorder {
  private readonly at: Float64Array;
  private readonly ms: Float64Array;
  private recorded = 0;

  constructor(readonly capacity = LATENCY_CAPACITY) {
    this.at = new Float64Array(capacity);
    this.ms = new Float64Array(capacity);
  }

  /** One handled event published at `publishTime`; ignored without one (a test message). */
  record(publishTime: Date | undefined, now = Date.now()): void {
    if (!publishTime) return;
    const slot = this.recorded++ % this.capacity;
    this.at[slot] = now;
    // A clock that steps back would make a negative latency; it is zero here.
    this.ms[slot] = Math.max(0, now - publishTime.getTime());
  }

  /** Percentiles of the events handled in the last `windowMs`; undefined when there were none. */
  summary(now = Date.now(), windowMs = LATENCY_WINDOW_MS): LatencySummary | undefined {
    const held = Math.min(this.recorded, this.capacity);
    const values: number[] = [];
    for (let i = 0; i < held; i++) if (now - this.at[i] <= windowMs) values.push(this.ms[i]);
    if (!values.length) return undefined;
    values.sort((a, b) => a - b);
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    const rank = (p: number) => values[Math.min(values.length - 1, Math.ceil(p * values.length) - 1)];
    return { count: values.length, p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: values[values.length - 1], windowMs };
  }
}
