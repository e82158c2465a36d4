/**
 * The leases of the unary puller: every message out (pulled, not yet settled) is kept at
 * `leaseSeconds` by a ModifyAckDeadline every third of it, until it is settled or has been out
 * longer than maxLeaseMs (then it is left to expire and come back, as the Node client's
 * maxExtension does).
 *
 *   every max(1 s, leaseSeconds/3): ModifyAckDeadline(leaseSeconds) for everything still out, in its turn
 */
import type { Logger } from './logger';
import { chunks, type SettleRpc } from './subscriber-rpc';

export const DEFAULT_MAX_LEASE_MS = 60 * 60 * 1000; // the Node client's default maxExtension

export interface LeaseExtenderOptions {
  /** Ack deadline (s) a message out is kept at: renewed every third of it (at least every second). */
  leaseSeconds: number;
  /** A message out longer than this is no longer renewed. Default DEFAULT_MAX_LEASE_MS. */
  maxLeaseMs?: number;
  rpc: Pick<SettleRpc, 'modifyAckDeadline'>;
  /** Runs a renewal in its turn among the acks and deadline changes (SettleQueue.inTurn). */
  inTurn(task: () => Promise<void>): Promise<void>;
  log: Logger;
  /** Subscription id, for the log. */
  subscription: string;
}

export class LeaseExtender {
  private readonly maxLeaseMs: number;
  /** ack id -> when it was pulled, for every message out, in the order they were pulled. */
  private readonly leases = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: LeaseExtenderOptions) {
    this.maxLeaseMs = options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS;
  }

  /** Messages out. */
  get size(): number {
    return this.leases.size;
  }

  /** Every message out, in the order they were pulled. */
  ackIds(): string[] {
    return [...this.leases.keys()];
  }

  /** A message was pulled: renew it from now on. */
  add(ackId: string): void {
    this.leases.set(ackId, Date.now());
  }

  /** The message was settled: no more renewals. False if it was not out (settled already). */
  remove(ackId: string): boolean {
    return this.leases.delete(ackId);
  }

  start(): void {
    const renewEveryMs = Math.max(1000, (this.options.leaseSeconds * 1000) / 3);
    this.timer = setInterval(() => void this.renew(), renewEveryMs);
    this.timer.unref();
  }

  /** No more renewals (those already waiting for their turn still run). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One renewal of everything out, in its turn; resolves when it was answered (a failure is logged). */
  renew(): Promise<void> {
    return this.options.inTurn(async () => {
      // Read when its turn comes, so a message settled meanwhile is not renewed after its nack.
      // Past maxLeaseMs a message is left to expire (and come back); its slot stays taken until it is settled.
      const now = Date.now();
      const renew: string[] = [];
      for (const [ackId, since] of this.leases) if (now - since <= this.maxLeaseMs) renew.push(ackId);
      const { rpc, leaseSeconds, log, subscription } = this.options;
      await Promise.all(
        chunks(renew).map((ids) =>
          rpc
            .modifyAckDeadline(ids, leaseSeconds)
            .catch((error: Error) => log.warn({ err: error, subscription, messages: ids.length }, 'lease renewal failed; these messages may be redelivered')),
        ),
      );
    });
  }
}
