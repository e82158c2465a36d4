/**
 * Consumer health for every consumer in the spec, polled in the background and kept as a short
 * history for the lag charts. The source is Cloud Monitoring in GCP and the tap-based local measure
 * on the emulators (shared/health); locally the acks come from every service's /stats/acks, and the
 * dashboard's own consumers are read in process. Every reading is annotated with the consumers
 * paused now (withPausedControls), which no metric tells.
 */
import type { PubSub } from '@google-cloud/pubsub';
// Not the index: it loads the Cloud Monitoring client, which only GCP needs (createHealthSource).
import { combineAckSources, httpAckSource } from '../../shared/health/acks-http';
import type * as CloudMonitoringModule from '../../shared/health/cloud-monitoring';
import { LocalTapHealth, type AckSource } from '../../shared/health/local';
import { judge, type ConsumerHealth, type HealthSource } from '../../shared/health/types';
import type { Logger } from '../../shared/consumer';
import type { ConsumerControl } from '../../shared/operations/controls';
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
  if (options.kind === 'cloud-monitoring') {
    // Required here: the Monitoring client is 125 modules, about 14 MiB of heap, that the local
    // dashboard never uses (`npm run bench -- mesh` reports the services' memory).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CloudMonitoringHealth } = require('../../shared/health/cloud-monitoring') as typeof CloudMonitoringModule;
    return new CloudMonitoringHealth(options.spec, options.projectId);
  }
  const remote = httpAckSource({ spec: options.spec, serviceUrls: options.serviceUrls });
  const own = options.ownStats;
  const acks: AckSource = own ? combineAckSources({ has: (c) => own.has(c), source: async (c, after) => own.acksOf(c).after(after) }, remote) : remote;
  const source = new LocalTapHealth(options.pubsub, options.spec, acks);
  source.start();
  return source;
}

/** The consumers paused now, name -> control (readPaused of shared/operations/controls.ts). */
export type PausedReader = () => Promise<Record<string, ConsumerControl>>;

export interface PausedControlsOptions {
  log?: Pick<Logger, 'warn'>;
  /** A control read slower than this counts as failed; default 5000 ms (a hung read would stall every reading). */
  timeoutMs?: number;
}

/** A judged reading again, with the consumer's pause (or without one: a stale `paused` is dropped). */
export function withPause(h: ConsumerHealth, control: ConsumerControl | undefined): ConsumerHealth {
  const { paused: _stale, ...rest } = h;
  if (!control?.paused) return judge(rest);
  return judge({ ...rest, paused: { since: control.since, owner: control.owner, intent: control.intent, operationId: control.operationId } });
}

/**
 * The source's readings, each consumer judged again with its consumer control. The controls are read
 * beside the health, not after it, so a reading takes no longer. When they cannot be read the health
 * is served without pause information (logged at the first failure of a run, as HealthMonitor does):
 * the lag is still worth showing.
 */
export function withPausedControls(source: HealthSource, readPaused: PausedReader, options: PausedControlsOptions = {}): HealthSource {
  let failures = 0;
  const controls = async (): Promise<Record<string, ConsumerControl> | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.timeoutMs ?? 5000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const paused = await Promise.race([readPaused(), timeout]);
      failures = 0;
      return paused;
    } catch (error) {
      if (failures++ === 0) options.log?.warn({ err: error }, 'cannot read the consumer controls; health is shown without paused consumers');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async read() {
      const [consumers, paused] = await Promise.all([source.read(), controls()]);
      return paused ? consumers.map((h) => withPause(h, paused[h.consumer])) : consumers;
    },
    close: () => source.close(),
  };
}
