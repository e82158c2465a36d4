/**
 * The canary inside a service process. Each instance has a role:
 * - `stable` (every service): while a consumer's canary runs, acks without effect what is the
 *   canary's on the consumer's own subscription, reports its side, and judges the canary every few
 *   seconds, aborting it when the spec's margin is passed (the stable build is the one trusted to);
 * - `canary` of one consumer (MESH_CANARY_OF): pulls `<c>-canary` only, handles what is the canary's,
 *   reports its side, and stops the process when the canary ends.
 * Only messages on the consumer's own subscription (and the canary's) are split: what arrives on
 * `<c>-redrive` (redrives, replays, a canary's leftovers) reached no canary and is always handled.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { IncomingMessage } from '../envelope';
import type { Pipeline } from '../consumer/pipeline';
import type { AckLog } from '../consumer/stats';
import type { Outcome } from '../consumer/types';
import { consumerResources } from '../spec/names';
import { CanaryWatcher, endCanary, writeSideReport, readSideReports, type CanaryControl } from './control';
import { judge, type CanaryVerdict } from './judge';
import { sideOf, type CanarySide } from './routing';
import { SideStats, type SideCounts } from './side-stats';

/** One consumer's canary as an instance's /stats shows it (section `canary`). */
export interface CanarySnapshot extends SideCounts {
  canaryId: string;
  side: CanarySide;
  /** Still running as far as this instance knows; share and since then. */
  running: boolean;
  share?: number;
  since?: string;
}

export type CanaryRole = { kind: 'stable' } | { kind: 'canary'; consumer: string };

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CanaryRuntimeOptions {
  db: Firestore;
  log: Log;
  role: CanaryRole;
  /** Names this process in its reports. */
  instance: string;
  /** How often each side reports. Default 2000 ms. */
  reportEveryMs?: number;
  /** How often a stable instance judges a running canary. Default 5000 ms; 0 = never. */
  judgeEveryMs?: number;
  /** After this instance's judge ended a canary: give the stable side its messages back (lifecycle.ts cleanUpCanary, audited). */
  onAborted?: (control: CanaryControl, verdict: CanaryVerdict) => Promise<void>;
  /** Canary role: its canary ended (or is not running): the process should stop. */
  onEnded?: () => void;
}

/** How long start waits for the first reading of the canaries before delivering anyway. */
const FIRST_READING_MS = 5000;

export class CanaryRuntime {
  /** Running canaries by consumer. */
  private readonly running = new Map<string, CanaryControl>();
  /** The last control read of each consumer, running or not (the canary role needs the ended one). */
  private readonly latest = new Map<string, CanaryControl | undefined>();
  /** This instance's numbers for each consumer's running canary. */
  private readonly sides = new Map<string, { canaryId: string; stats: SideStats }>();
  private readonly watcher: CanaryWatcher;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly side: CanarySide;
  private judging = false;
  private closed = false;

  constructor(private readonly options: CanaryRuntimeOptions) {
    this.watcher = new CanaryWatcher({ db: options.db, log: options.log });
    this.side = options.role.kind;
  }

  get role(): CanaryRole {
    return this.options.role;
  }

  /** Follows the consumers' canaries; resolves after the first reading of each (or FIRST_READING_MS). */
  async start(consumers: readonly string[]): Promise<void> {
    await Promise.all(
      consumers.map(
        (consumer) =>
          new Promise<void>((firstReading) => {
            const timer = setTimeout(firstReading, FIRST_READING_MS);
            this.watcher.watch(consumer, (control) => {
              clearTimeout(timer);
              this.follow(consumer, control);
              firstReading();
            });
          }),
      ),
    );
    this.timers.push(setInterval(() => void this.report(), this.options.reportEveryMs ?? 2000));
    const judgeEveryMs = this.options.judgeEveryMs ?? 5000;
    if (this.side === 'stable' && judgeEveryMs > 0) this.timers.push(setInterval(() => void this.judgeAll(), judgeEveryMs));
  }

  private follow(consumer: string, control: CanaryControl | undefined): void {
    const before = this.running.get(consumer);
    this.latest.set(consumer, control);
    if (control?.state === 'running') {
      this.running.set(consumer, control);
      if (before?.canaryId !== control.canaryId) {
        this.sides.set(consumer, { canaryId: control.canaryId, stats: new SideStats() });
        this.options.log.info({ consumer, canaryId: control.canaryId, share: control.share, since: control.since, side: this.side }, 'canary running');
        void this.report();
      }
      return;
    }
    this.running.delete(consumer);
    if (before) {
      this.options.log.info({ consumer, canaryId: before.canaryId, state: control?.state, side: this.side }, 'canary ended');
      // A canary instance says it stopped only from close(), once what it pulled is settled: the end's move waits for that.
      if (this.side === 'stable') void this.report(before.canaryId);
    }
    if (this.options.role.kind === 'canary' && this.options.role.consumer === consumer && (before || control)) this.options.onEnded?.();
  }

  /**
   * What to do with one delivery: `handle` it (with the side's numbers to record into, while a canary
   * runs), `skip` it (ack without effect: the other side has it), or `hold` it (send it back).
   * A canary instance holds what its ended canary left (published in the canary's time, in its
   * buckets: the stable side skipped it, the end moves it back) and anything before its first reading;
   * with no canary at all everything is the stable side's, so a canary deployed ahead of its start
   * (GCP, infra/canaries.ts) only acks its subscription empty.
   */
  admit(consumer: string, message: IncomingMessage, subscription: string): { kind: 'handle'; stats?: SideStats } | { kind: 'skip' } | { kind: 'hold' } {
    const control = this.running.get(consumer);
    if (this.side === 'canary') {
      if (control) return this.mine(control, message) ? { kind: 'handle', stats: this.sides.get(consumer)?.stats } : { kind: 'skip' };
      if (!this.latest.has(consumer)) return { kind: 'hold' };
      const last = this.latest.get(consumer);
      const publishedAt = message.publishTime?.getTime();
      const leftOver = last?.ended !== undefined && (publishedAt === undefined || publishedAt < Date.parse(last.ended.at)) && this.mine(last, message);
      return leftOver ? { kind: 'hold' } : { kind: 'skip' };
    }
    const subscriptionId = subscription.slice(subscription.lastIndexOf('/') + 1);
    if (!control || subscriptionId !== consumerResources({ name: consumer }).subscription) return { kind: 'handle' };
    return this.mine(control, message) ? { kind: 'handle', stats: this.sides.get(consumer)?.stats } : { kind: 'skip' };
  }

  /** Whether a message is this side's under the running canary (control.ts says why `since` matters). */
  private mine(control: CanaryControl, message: IncomingMessage): boolean {
    const split = message.publishTime === undefined || message.publishTime.getTime() >= Date.parse(control.since);
    const side = split ? sideOf(message.attributes, control.share) : 'stable';
    return side === this.side;
  }

  /** Wraps a consumer's pipeline with admit(): skipped deliveries are acked (and logged as acks) without running it. */
  gate(consumer: string, pipeline: Pipeline, acked?: AckLog): Pipeline {
    return async (message, subscription) => {
      const admitted = this.admit(consumer, message, subscription);
      if (admitted.kind === 'skip') {
        acked?.record(message.messageId);
        return 'duplicate';
      }
      if (admitted.kind === 'hold') return 'retry';
      // No canary running: nothing to time, the common case on every delivery.
      if (!admitted.stats) return pipeline(message, subscription);
      const started = performance.now();
      const outcome: Outcome = await pipeline(message, subscription);
      admitted.stats.record(outcome, performance.now() - started);
      return outcome;
    };
  }

  /** This instance's numbers for /stats (`mesh status` names the running canaries from them). */
  snapshot(): Record<string, CanarySnapshot> {
    return Object.fromEntries(
      [...this.sides].map(([consumer, { canaryId, stats }]) => {
        const running = this.running.get(consumer);
        const now = running?.canaryId === canaryId ? { running: true, share: running.share, since: running.since } : { running: false };
        return [consumer, { canaryId, side: this.side, ...now, ...stats.counts }];
      }),
    );
  }

  /** Writes this instance's side of every running canary (and a last `stopped` one for `ended`). */
  private async report(ended?: string, stopped = false): Promise<void> {
    await Promise.all(
      [...this.sides].map(async ([consumer, { canaryId, stats }]) => {
        const isRunning = this.running.get(consumer)?.canaryId === canaryId;
        if (!isRunning && canaryId !== ended && !stopped) return;
        try {
          await writeSideReport(this.options.db, consumer, {
            canaryId,
            side: this.side,
            instance: `${this.side}-${this.options.instance}`,
            counts: { ...stats.counts },
            latency: stats.latency.toJSON(),
            updatedAt: new Date().toISOString(),
            stopped: stopped || !isRunning,
          });
        } catch (error) {
          if (!this.closed) this.options.log.warn({ err: error, consumer, canaryId }, 'cannot write the canary report; the next one will');
        }
      }),
    );
  }

  /** Stable instances: end each running canary the spec's margin condemns (once, whoever comes first). */
  private async judgeAll(): Promise<void> {
    if (this.judging || this.closed) return;
    this.judging = true;
    try {
      for (const control of [...this.running.values()]) {
        const verdict = judge(await readSideReports(this.options.db, control.consumer, control.canaryId), control.policy);
        if (verdict.decision !== 'abort') continue;
        const ended = await endCanary(this.options.db, control.consumer, control.canaryId, 'aborted', {
          at: new Date().toISOString(),
          by: 'threshold',
          reason: verdict.reason,
          verdict: { canary: verdict.canary, stable: verdict.stable },
        });
        if (!ended) continue;
        this.options.log.warn({ consumer: control.consumer, canaryId: control.canaryId, reason: verdict.reason }, 'canary aborted by its threshold');
        await this.options
          .onAborted?.(ended, verdict)
          .catch((error: Error) =>
            this.options.log.error(
              { err: error, consumer: control.consumer, canaryId: control.canaryId },
              "giving the aborted canary's messages back failed; `mesh canary abort` finishes it",
            ),
          );
      }
    } catch (error) {
      this.options.log.warn({ err: error }, 'cannot judge the running canaries; trying again');
    } finally {
      this.judging = false;
    }
  }

  /** Stops following; the last report says this instance stopped. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.watcher.close();
    await this.report(undefined, true);
    this.closed = true;
  }
}
