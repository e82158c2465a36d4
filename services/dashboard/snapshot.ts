/**
 * What the page shows, as one JSON document: recent minute and hour windows, the top posts of the
 * current minute and hour, and consumer health with its history and SLOs. Built at most once per
 * `maxAgeMs` whatever the number of viewers and API callers.
 */
import type { MeshSpec } from '../../shared/spec';
import type { AggregatorStats } from './aggregator';
import type { HealthMonitor, HealthReading } from './health';
import { DashboardReader, type PostLikes, type WindowAggregate } from './reader';
import { windowSizeMs, type Granularity } from './windows';

export interface ConsumerInfo {
  name: string;
  topic: string;
  delivery: string;
  service?: string;
  slo: { oldestUnackedSeconds: number; backlog: number };
}

export interface DashboardSnapshot {
  at: string;
  windows: Record<Granularity, WindowAggregate[]>;
  current: Record<Granularity, { window: string; topPosts: PostLikes[] }>;
  health: { source: string; latest?: HealthReading; history: HealthReading[] };
  consumers: ConsumerInfo[];
  aggregator: AggregatorStats;
}

export interface SnapshotOptions {
  spec: MeshSpec;
  reader: DashboardReader;
  health?: HealthMonitor;
  healthSource: string;
  aggregatorStats: () => AggregatorStats;
  /** Windows shown; default 30 minutes and 24 hours. */
  minutes?: number;
  hours?: number;
  /** Top posts shown; default 10. */
  topN?: number;
  /** Reuse a snapshot this young; default 500 ms. */
  maxAgeMs?: number;
  now?: () => number;
}

export class SnapshotBuilder {
  private cached?: { at: number; value: Promise<DashboardSnapshot> };

  constructor(private readonly options: SnapshotOptions) {}

  consumers(): ConsumerInfo[] {
    return Object.values(this.options.spec.consumers).map((c) => ({
      name: c.name,
      topic: c.topic,
      delivery: c.delivery,
      service: c.service,
      slo: { oldestUnackedSeconds: c.lagSlo.oldestUnackedSeconds, backlog: c.lagSlo.backlog },
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
      reader.windows('minute', now - ((this.options.minutes ?? 30) - 1) * windowSizeMs('minute')),
      reader.windows('hour', now - ((this.options.hours ?? 24) - 1) * windowSizeMs('hour')),
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
    };
  }
}
