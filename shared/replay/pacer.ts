/**
 * Holds a replay to its ceiling: the n-th send starts on a schedule 1 / ceiling seconds apart, so
 * over any second of a run the rate passes the ceiling by at most SLIP_AFTER_MS + MIN_SLEEP_MS of
 * sends (under 3 % of a second). A stall (a warehouse page being read) is not made up with a burst
 * afterwards: that burst is what the consumer's real-time path would feel.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Behind by more than this, the schedule slips instead of catching up: at most this much of a burst. */
const SLIP_AFTER_MS = 25;
/** Waits shorter than this are not slept: a send may start up to this early on its schedule. */
const MIN_SLEEP_MS = 2;

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
    // Far behind schedule (the source or the publisher stalled): the schedule slips, no catch-up
    // burst. A little behind (a timer fired late) is made up, or the rate would fall short of the
    // ceiling by every timer's lateness.
    if (this.next === undefined || now - this.next > SLIP_AFTER_MS) this.next = now;
    const wait = this.next - now;
    this.next += 1000 / this.perSecond;
    this.sent++;
    // Timers fire a millisecond or more late: waits shorter than that are not slept, the schedule
    // being absolute (measured: sleeping every 1 ms wait held a 1000/s ceiling to about 700/s).
    if (wait >= MIN_SLEEP_MS) await this.clock.sleep(wait, signal);
  }

  /** Sends allowed so far. */
  get taken(): number {
    return this.sent;
  }
}
