/**
 * The pull subscriptions a warehouse drain reads beside the service's own consumers (archive.ts,
 * dead-letter-archive.ts): started together, ready together, and stopped together once what they
 * pulled is written.
 */
import { drainPulls, type InFlight, type Logger, type PullConsumer } from '../../shared/consumer';

export class PullSet {
  constructor(
    private readonly pulls: PullConsumer[],
    private readonly inFlight: InFlight,
    private readonly log: Logger,
    /** What is being written, for the shutdown warning (e.g. "archive rows"). */
    private readonly what: string,
  ) {}

  get ready(): boolean {
    return this.pulls.every((p) => p.ready);
  }

  readyOf(consumer: string): boolean {
    return this.pulls.filter((p) => p.consumer.name === consumer).every((p) => p.ready);
  }

  async start(): Promise<void> {
    await Promise.all(this.pulls.map((p) => p.start()));
  }

  /** Stops intake, waits (at most `timeoutMs`) for what is being written, closes the streams. */
  async stop(timeoutMs: number): Promise<void> {
    const drained = await drainPulls(this.pulls, timeoutMs, this.inFlight);
    if (!drained)
      this.log.warn({ inFlight: this.inFlight.size }, `${this.what} still being written at the shutdown deadline; their messages will be redelivered`);
    await Promise.all(this.pulls.map((p) => p.close()));
  }
}
