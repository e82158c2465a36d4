/**
 * Readiness that follows what a service depends on (Firestore, BigQuery): each dependency is probed
 * every `intervalMs`, and one whose probe fails or does not answer within `timeoutMs` makes /readyz
 * answer 503 with the reason until a probe succeeds again. With the defaults (2 s + 2 s) readiness
 * turns within 4 s of a dependency becoming unreachable. Pull subscriptions report their own state
 * (a failing Pull makes its consumer not ready), so Pub/Sub needs no probe here.
 *
 * Why probe instead of watching handlers: an idle service has no handler calls to watch, and a
 * handler stuck on a dead connection says nothing until its deadline. The cost is one small call
 * per interval and instance (for Firestore a read of one missing document: ~1.3 million reads a
 * month per instance at 2 s).
 */
import type { Logger } from './logger';

/** Resolves when the dependency answered; rejects (or never settles) when it did not. */
export type DependencyProbe = () => Promise<unknown>;

export interface DependencyMonitorOptions {
  probes: Record<string, DependencyProbe>;
  log: Logger;
  /** Between the end of one round of probes and the next. Default 2000 ms. */
  intervalMs?: number;
  /** A probe not answered within this counts as failed. Default 2000 ms. */
  timeoutMs?: number;
}

export class DependencyMonitor {
  /** dependency -> why it is down. */
  private readonly down = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: DependencyMonitorOptions) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /** The round of probes running now, if any. */
  private round: Promise<void> | undefined;

  /** Why the service is not ready because of a dependency: one line per dependency down. */
  get reasons(): string[] {
    return [...this.down].map(([name, why]) => `${name} unreachable: ${why}`);
  }

  get names(): string[] {
    return Object.keys(this.options.probes);
  }

  /** Probes once now, then every intervalMs until stop(). */
  async start(): Promise<void> {
    if (!this.names.length || !this.stopped) return;
    this.stopped = false;
    await this.probeAll();
    this.schedule();
  }

  /**
   * No more rounds; resolves once a round in flight has settled, so a caller may close the clients
   * the probes use (a Firestore client terminated under a running get() rejects inside the library,
   * where nothing handles it).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round: every probe at once, each within timeoutMs. */
  async probeAll(): Promise<void> {
    const round = Promise.all(Object.entries(this.options.probes).map(([name, probe]) => this.probeOne(name, probe))).then(() => undefined);
    this.round = round;
    await round;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probeAll().finally(() => this.schedule()), this.intervalMs);
    this.timer.unref();
  }

  private async probeOne(name: string, probe: DependencyProbe): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([probe(), timedOut]);
      if (this.down.delete(name)) this.options.log.info({ dependency: name }, `${name} reachable again`);
    } catch (error) {
      const why = (error as Error)?.message ?? String(error);
      if (!this.down.has(name)) this.options.log.warn({ dependency: name, err: error }, `${name} unreachable: not ready until it answers`);
      this.down.set(name, why.split('\n')[0].slice(0, 200));
    } finally {
      clearTimeout(timer);
    }
  }
}
