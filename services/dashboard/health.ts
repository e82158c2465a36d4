/**
 * Consumer health for every consumer in the spec, polled in the background and kept as a short
 * history for the lag charts. The source is Cloud Monitoring in GCP and the tap-based local measure
 * on the emulators (shared/health); locally the acks come from every service's /stats/acks, and the
 * dashboard's own consumers are read in process.
 */
import type { PubSub } from '@google-cloud/pubsub';
import {
  CloudMonitoringHealth,
  LocalTapHealth,
  combineAckSources,
  httpAckSource,
  type AckSource,
  type ConsumerHealth,
  type HealthSource,
} from '../../shared/health';
import type { Logger } from '../../shared/consumer';
import type { ServiceStats } from '../../shared/consumer/stats';
import type { MeshSpec } from '../../shared/spec';

export interface HealthReading {
  at: string;
  consumers: ConsumerHealth[];
}

export interface HealthMonitorOptions {
  source: HealthSource;
  /** Poll period; default 2000 ms. */
  intervalMs?: number;
  /** Readings kept for the charts; default 150 (5 minutes at 2 s). */
  historySize?: number;
  log?: Logger;
  /** Called after each reading (live updates). */
  onReading?: (reading: HealthReading) => void;
}

export class HealthMonitor {
  private readonly history: HealthReading[] = [];
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: HealthMonitorOptions) {}

  start(): void {
    const tick = () => {
      if (this.closed) return;
      this.reading = this.readOnce().finally(() => {
        this.reading = undefined;
        if (!this.closed) this.timer = setTimeout(tick, this.options.intervalMs ?? 2000);
      });
    };
    tick();
  }

  async readOnce(): Promise<void> {
    try {
      const consumers = await this.options.source.read();
      const reading = { at: new Date().toISOString(), consumers };
      this.history.push(reading);
      if (this.history.length > (this.options.historySize ?? 150)) this.history.shift();
      this.failures = 0;
      this.options.onReading?.(reading);
    } catch (error) {
      // Health is best effort; log the first failure of a run, not every poll.
      if (this.failures++ === 0) this.options.log?.warn({ err: error }, 'consumer health read failed');
    }
  }

  get latest(): HealthReading | undefined {
    return this.history.at(-1);
  }

  recent(): HealthReading[] {
    return this.history.slice();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.reading;
    await this.options.source.close();
  }
}

export interface HealthSourceOptions {
  spec: MeshSpec;
  pubsub: PubSub;
  /** GCP project for Cloud Monitoring. */
  projectId: string;
  /** 'local' on the emulators (tap subscriptions + acks), 'cloud-monitoring' in GCP. */
  kind: 'local' | 'cloud-monitoring';
  /** The dashboard's own stats: its consumers' acks are read in process. */
  ownStats?: ServiceStats;
  /** service name -> base URL for /stats/acks; default the spec's local ports + MESH_SERVICE_URLS. */
  serviceUrls?: Record<string, string>;
}

export function createHealthSource(options: HealthSourceOptions): HealthSource {
  if (options.kind === 'cloud-monitoring') return new CloudMonitoringHealth(options.spec, options.projectId);
  const remote = httpAckSource({ spec: options.spec, serviceUrls: options.serviceUrls });
  const own = options.ownStats;
  const acks: AckSource = own ? combineAckSources({ has: (c) => own.has(c), source: async (c, after) => own.acksOf(c).after(after) }, remote) : remote;
  const source = new LocalTapHealth(options.pubsub, options.spec, acks);
  source.start();
  return source;
}
