/**
 * Per-consumer counters, served as JSON at /stats, and the log of acked message ids served at
 * /stats/acks (the local health monitor matches them against what was published). Plain numbers
 * and one array slot per ack: cheap enough for the hot path.
 */
import { getHeapStatistics } from 'node:v8';
import { LatencyRecorder, type LatencySummary } from './latency';

export interface ConsumerCounters {
  /** Deliveries that reached the runtime (redeliveries count again). */
  received: number;
  /** Handler wrote the effect. */
  done: number;
  /** Handler saw the event id before; acked without an effect. */
  duplicate: number;
  /** Sent to the consumer's dead-letter topic by the poison fast path. */
  deadLettered: number;
  /** Transient failures (nack / 5xx), including a dead-letter publish that failed. */
  failed: number;
}

export interface StatsSnapshot {
  service: string;
  consumers: Record<string, ConsumerCounters>;
  /** Publish-to-effect latency per consumer over the last minute (latency.ts); a consumer that handled nothing in it is absent. */
  latency?: Record<string, LatencySummary>;
  /** What the service adds of its own (e.g. the processor's `anomalies`); absent when it adds nothing. */
  sections?: Record<string, unknown>;
  /** The process's memory when read (GET /stats adds it): RSS against what the V8 heap holds. */
  memory?: MemorySnapshot;
}

export interface MemorySnapshot {
  rssBytes: number;
  /** Live JavaScript objects, and what V8 has reserved for them. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Buffers and other memory outside the V8 heap that JavaScript objects hold. */
  externalBytes: number;
  /** The most the V8 heap may grow to (sized from the machine's or container's memory, or --max-old-space-size). */
  heapLimitBytes: number;
}

/** Fixed when the process starts (from its memory, or --max-old-space-size): read once. */
const HEAP_LIMIT_BYTES = getHeapStatistics().heap_size_limit;

export function memorySnapshot(): MemorySnapshot {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, heapLimitBytes: HEAP_LIMIT_BYTES };
}

/** Default capacity of each consumer's AckLog. */
export const DEFAULT_ACK_LOG_CAPACITY = 50_000;

/** A page of acked message ids after a cursor. */
export interface AckPage {
  /** Message ids acked after the cursor, oldest first. */
  ids: string[];
  /** Cursor for the next call (pass it as `after`). */
  next: number;
  /** Ids acked after the cursor that the ring no longer holds (the reader fell behind). */
  missed: number;
}

/**
 * Acked message ids in a bounded ring, numbered 1, 2, 3 ... Readers keep their own cursor, so any
 * number of them (the dashboard, `mesh status`) read the same ids without stealing from each other.
 */
export class AckLog {
  private readonly ring: string[];
  /** Sequence number of the last id recorded (0 = none yet). */
  private last = 0;

  constructor(readonly capacity = DEFAULT_ACK_LOG_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`AckLog capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<string>(capacity);
  }

  record(messageId: string): void {
    this.ring[this.last++ % this.capacity] = messageId;
  }

  /** Sequence number of the newest id; a reader starting now passes it to skip history. */
  get head(): number {
    return this.last;
  }

  /** Ids recorded after sequence `after`, at most `limit` of them. */
  after(after: number, limit = 10_000): AckPage {
    const from = Math.max(0, Math.min(Math.floor(after) || 0, this.last));
    const oldest = Math.max(0, this.last - this.capacity);
    const start = Math.max(from, oldest);
    const end = Math.min(this.last, start + Math.max(1, limit));
    const ids: string[] = new Array(end - start);
    for (let seq = start; seq < end; seq++) ids[seq - start] = this.ring[seq % this.capacity];
    return { ids, next: end, missed: start - from };
  }
}

export class ServiceStats {
  private readonly counters = new Map<string, ConsumerCounters>();
  private readonly latencies = new Map<string, LatencyRecorder>();
  private readonly ackLogs = new Map<string, AckLog>();
  private readonly sections = new Map<string, () => unknown>();

  constructor(
    readonly service: string,
    consumers: string[],
    ackLogCapacity = DEFAULT_ACK_LOG_CAPACITY,
  ) {
    for (const name of consumers) {
      this.counters.set(name, { received: 0, done: 0, duplicate: 0, deadLettered: 0, failed: 0 });
      this.ackLogs.set(name, new AckLog(ackLogCapacity));
      this.latencies.set(name, new LatencyRecorder());
    }
  }

  /** The acked message ids of one consumer. */
  acksOf(consumer: string): AckLog {
    const log = this.ackLogs.get(consumer);
    if (!log) throw new Error(`no ack log for consumer ${consumer}`);
    return log;
  }

  /** Publish-to-effect latency of one consumer's handled events. */
  latencyOf(consumer: string): LatencyRecorder {
    const recorder = this.latencies.get(consumer);
    if (!recorder) throw new Error(`no latency recorder for consumer ${consumer}`);
    return recorder;
  }

  has(consumer: string): boolean {
    return this.counters.has(consumer);
  }

  /** The live counters of one consumer (mutate in place). */
  of(consumer: string): ConsumerCounters {
    const counters = this.counters.get(consumer);
    if (!counters) throw new Error(`no counters for consumer ${consumer}`);
    return counters;
  }

  /**
   * Adds a section of the service's own to /stats, read at each snapshot: the runtime's counters stay
   * the same for every service, and a service reports what only it knows beside them.
   */
  addSection(name: string, read: () => unknown): void {
    if (this.sections.has(name)) throw new Error(`stats section ${name} is already added`);
    this.sections.set(name, read);
  }

  snapshot(): StatsSnapshot {
    const consumers: Record<string, ConsumerCounters> = {};
    for (const [name, c] of this.counters) consumers[name] = { ...c };
    const now = Date.now();
    const latency: Record<string, LatencySummary> = {};
    for (const [name, recorder] of this.latencies) {
      const summary = recorder.summary(now);
      if (summary) latency[name] = summary;
    }
    const snapshot: StatsSnapshot = { service: this.service, consumers, ...(Object.keys(latency).length ? { latency } : {}) };
    if (this.sections.size) snapshot.sections = Object.fromEntries([...this.sections].map(([name, read]) => [name, read()]));
    return snapshot;
  }
}
