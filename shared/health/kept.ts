/**
 * A value kept up to date in the background, for the read endpoints an operator calls when the mesh
 * is busy (`mesh status`, the dashboard's /api/health, /api/hot-keys, /api/anomalies): a request
 * answers from what the last refresh kept, with its age, and does no I/O of its own. A refresh that
 * is slow or hangs makes the value older, never a request slower.
 *
 * One refresh at a time: the next one starts `intervalMs` after the previous one ended, so refreshes
 * never pile up on a busy event loop (or on an emulator that answers slowly). A request finding the
 * value older than two intervals nudges a refresh (when none runs): where timers are starved between
 * requests (Cloud Run without CPU outside requests), the next request sees a fresher value.
 */
import type { Logger } from '../consumer/logger';

export interface Kept<T> {
  value: T;
  /** When the refresh that produced the value began (ms since the epoch): the value is at least this fresh. */
  at: number;
}

export interface KeptStateOptions<T> {
  /** For the log. */
  name: string;
  read: () => Promise<T> | T;
  /** Pause between the end of one refresh and the start of the next; default 2000 ms. */
  intervalMs?: number;
  log?: Pick<Logger, 'warn'>;
  now?: () => number;
}

/** How old the kept value is, as an API response shows it: `asOf` (ISO) and `ageSeconds`; nulls before the first refresh. */
export interface KeptAge {
  asOf: string | null;
  ageSeconds: number | null;
}

export class KeptState<T> {
  private kept?: Kept<T>;
  private running?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private failures = 0;
  private readonly now: () => number;

  constructor(private readonly options: KeptStateOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  private get intervalMs(): number {
    return this.options.intervalMs ?? 2000;
  }

  /** Refreshes now, then every `intervalMs` after the previous refresh ended. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.refresh();
  }

  /** The last value kept, or undefined before the first refresh succeeded. */
  get current(): Kept<T> | undefined {
    return this.kept;
  }

  /** Whether a refresh is under way now. */
  get refreshing(): boolean {
    return this.running !== undefined;
  }

  /** The value's age for a response; nudges a refresh when the value is older than two intervals. */
  age(): KeptAge {
    if (!this.kept) return { asOf: null, ageSeconds: null };
    const ageMs = Math.max(0, this.now() - this.kept.at);
    if (ageMs > 2 * this.intervalMs && !this.running && !this.stopped) {
      clearTimeout(this.timer);
      void this.refresh();
    }
    return { asOf: new Date(this.kept.at).toISOString(), ageSeconds: Math.round(ageMs / 100) / 10 };
  }

  /** One refresh; joins the one under way, if any (never two at once). */
  refresh(): Promise<void> {
    this.running ??= this.refreshOnce().finally(() => {
      this.running = undefined;
      if (!this.stopped) this.timer = setTimeout(() => void this.refresh(), this.intervalMs).unref();
    });
    return this.running;
  }

  private async refreshOnce(): Promise<void> {
    const at = this.now();
    try {
      this.kept = { value: await this.options.read(), at };
      this.failures = 0;
    } catch (error) {
      // The last value stays, with its age; log the first failure of a run, not every refresh.
      if (this.failures++ === 0) this.options.log?.warn({ err: error, state: this.options.name }, 'refreshing kept state failed; serving the last value');
    }
  }

  /** Stops refreshing; a refresh under way is not waited for (it may hang). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
