/**
 * What the page shows, as one JSON document: recent minute and hour windows, the top posts of the
 * current minute and hour, and consumer health with its history and SLOs. Built at most once per
 * `maxAgeMs` whatever the number of viewers and API callers.
 *
 * Reads cost money: every window is 20 counter shards plus sketches, so reading 30 minutes and 24
 * hours every second would be ~2000 document reads a second while a page is open. Only the current
 * and the previous window of each granularity are read every time; older (settled) windows, which
 * change only with late events, are read again every `settledRefreshMs`.
 */
import { subscriptionRetentionSeconds, type MeshSpec } from '../../shared/spec';
import type { AggregatorStats } from './aggregator';
import type { HealthMonitor, HealthReading } from './health';
import type { TopicHotKeys } from '../../shared/health/hot-keys';
import { DashboardReader, type PostLikes, type WindowAggregate } from './reader';
import { windowSizeMs, windowStart, type Granularity } from './windows';

export interface ConsumerInfo {
  name: string;
  topic: string;
  delivery: string;
  service?: string;
  slo: { oldestUnackedSeconds: number; backlog: number };
  /** The subscription's retention: the page shows it before the first health reading too. */
  retentionSeconds: number;
}

export interface DashboardSnapshot {
  at: string;
  windows: Record<Granularity, WindowAggregate[]>;
  current: Record<Granularity, { window: string; topPosts: PostLikes[] }>;
  health: { source: string; latest?: HealthReading; history: HealthReading[] };
  consumers: ConsumerInfo[];
  aggregator: AggregatorStats;
  /** The hottest ordering keys per topic over the last minute (shared/health/hot-keys.ts). */
  hotKeys: TopicHotKeys[];
}

export interface SnapshotOptions {
  spec: MeshSpec;
  reader: DashboardReader;
  health?: HealthMonitor;
  healthSource: string;
  aggregatorStats: () => AggregatorStats;
  /** The hottest ordering keys per topic; default none. */
  hotKeys?: () => TopicHotKeys[];
  /** Windows shown; default 30 minutes and 24 hours. */
  minutes?: number;
  hours?: number;
  /** Top posts shown; default 10. */
  topN?: number;
  /** Reuse a snapshot this young; default 500 ms. */
  maxAgeMs?: number;
  /** Windows older than the previous one are read again after this long; default 60 s. */
  settledRefreshMs?: number;
  now?: () => number;
}

export class SnapshotBuilder {
  private cached?: { at: number; value: Promise<DashboardSnapshot> };
  /** Per granularity: the settled windows as last read, and when. */
  private readonly settled = new Map<Granularity, { readAt: number; windows: WindowAggregate[] }>();

  constructor(private readonly options: SnapshotOptions) {}

  /** The latest health reading as the monitor keeps it: no I/O (GET /api/health answers from it). */
  healthNow(): { source: string; latest?: HealthReading } {
    return { source: this.options.healthSource, latest: this.options.health?.latest };
  }

  consumers(): ConsumerInfo[] {
    return Object.values(this.options.spec.consumers).map((c) => ({
      name: c.name,
      topic: c.topic,
      delivery: c.delivery,
      service: c.service,
      slo: { oldestUnackedSeconds: c.lagSlo.oldestUnackedSeconds, backlog: c.lagSlo.backlog },
      retentionSeconds: subscriptionRetentionSeconds(c),
    }));
  }

  get(): Promise<DashboardSnapshot> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.options.maxAgeMs ?? 500)) return this.cached.value;
    const value = this.build();
    this.cached = { at: now, value };
    value.catch(() => {
      if (this.cached?.value === value) this.cached = undefined;
    });
    return value;
  }

  private async build(): Promise<DashboardSnapshot> {
    const { reader, health } = this.options;
    const now = (this.options.now ?? Date.now)();
    const topN = this.options.topN ?? 10;
    const minuteKey = DashboardReader.windowOf('minute', now);
    const hourKey = DashboardReader.windowOf('hour', now);
    const [minutes, hours, topMinute, topHour] = await Promise.all([
      this.windows('minute', now, this.options.minutes ?? 30),
      this.windows('hour', now, this.options.hours ?? 24),
      reader.topPosts('minute', minuteKey, topN),
      reader.topPosts('hour', hourKey, topN),
    ]);
    return {
      at: new Date(now).toISOString(),
      windows: { minute: minutes, hour: hours },
      current: { minute: { window: minuteKey, topPosts: topMinute }, hour: { window: hourKey, topPosts: topHour } },
      health: { source: this.options.healthSource, latest: health?.latest, history: health?.recent() ?? [] },
      consumers: this.consumers(),
      aggregator: { ...this.options.aggregatorStats() },
      hotKeys: this.options.hotKeys?.() ?? [],
    };
  }

  /** The last `count` windows: the current and previous one read now, older ones from the settled cache. */
  private async windows(granularity: Granularity, now: number, count: number): Promise<WindowAggregate[]> {
    const size = windowSizeMs(granularity);
    const since = windowStart(granularity, now - (count - 1) * size);
    const recentSince = Math.max(since, windowStart(granularity, now) - size);
    const cache = this.settled.get(granularity);
    if (!cache || now - cache.readAt >= (this.options.settledRefreshMs ?? 60_000)) {
      const all = await this.options.reader.windows(granularity, since);
      this.settled.set(granularity, { readAt: now, windows: all.filter((w) => Date.parse(w.start) < recentSince) });
      return all;
    }
    const recent = await this.options.reader.windows(granularity, recentSince);
    return [...cache.windows.filter((w) => Date.parse(w.start) >= since && Date.parse(w.start) < recentSince), ...recent];
  }
}
