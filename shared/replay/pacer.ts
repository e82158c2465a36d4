/**
 * Holds a replay to its ceiling: sends start at least 1 / ceiling seconds apart, so over any stretch
 * of a run the rate never passes the ceiling. A slow stretch (a warehouse page being read) is not
 * made up with a burst afterwards: that burst is what the consumer's real-time path would feel.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface PacerClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: PacerClock = { now: () => performance.now(), sleep: (ms, signal) => sleep(ms, undefined, { signal }) };

export class Pacer {
  /** When the next send may start. */
  private next?: number;
  private sent = 0;

  constructor(
    readonly perSecond: number,
    private readonly clock: PacerClock = realClock,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`a ceiling must be above 0 per second, not ${perSecond}`);
  }

  /** Resolves when one more send is allowed; rejects with the signal's reason once it is aborted. */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.clock.now();
    // Behind schedule (the source or the publisher was slow): the schedule slips, no catch-up burst.
    if (this.next === undefined || this.next < now) this.next = now;
    const wait = this.next - now;
    this.next += 1000 / this.perSecond;
    this.sent++;
    if (wait > 0) await this.clock.sleep(wait, signal);
  }

  /** Sends allowed so far. */
  get taken(): number {
    return this.sent;
  }
}
