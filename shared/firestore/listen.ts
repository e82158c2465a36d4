/**
 * A Firestore document listener that comes back after an error: what the deliverers use to follow
 * consumer controls (shared/operations/controls.ts) and canaries (shared/canary/control.ts). A listener
 * that errs is over (the client does not resume it), so it is opened again after `retryMs`; meanwhile
 * the caller keeps its last reading.
 */
import type { DocumentSnapshot, Firestore } from '@google-cloud/firestore';

export interface DocumentFollower {
  /** Stops every listener and pending retry it opened. */
  close(): void;
}

export class RetryingListeners implements DocumentFollower {
  private readonly stops: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly db: Firestore,
    /** Default 5000 ms. */
    private readonly retryMs = 5000,
  ) {}

  /** Calls onSnapshot at the first reading and at every change; onError(error, retryInMs) before each retry. */
  follow(path: string, onSnapshot: (snap: DocumentSnapshot) => void, onError: (error: Error, retryInMs: number) => void): void {
    const listen = () => {
      if (this.closed) return;
      const unsubscribe = this.db.doc(path).onSnapshot(onSnapshot, (error) => {
        onError(error, this.retryMs);
        const timer = setTimeout(listen, this.retryMs);
        this.stops.push(() => clearTimeout(timer));
      });
      this.stops.push(unsubscribe);
    };
    listen();
  }

  close(): void {
    this.closed = true;
    for (const stop of this.stops.splice(0)) stop();
  }
}
