/** Counts running deliveries so a shutdown can wait for them to finish. */
export class InFlight {
  private running = 0;
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.running;
  }

  /**
   * Counts `work` until it settles, and returns it. The count drops before anything the caller chains
   * on `work` runs (its reaction is registered first). One reaction made once for every delivery:
   * `finally()` cost each message two promises and a closure on the hot path.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.running++;
    work.then(this.settled, this.settled);
    return work;
  }

  private readonly settled = (): void => {
    if (--this.running === 0) for (const wake of this.waiters.splice(0)) wake();
  };

  drained(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve(false);
        },
        Math.max(0, timeoutMs),
      );
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }
}
