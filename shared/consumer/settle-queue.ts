/**
 * The settle queue of the unary puller: acks and deadline changes (nacks) queued as messages are
 * settled and sent in batches, at most SETTLE_BATCH_MS late, deadline changes first and acks once
 * those are answered; one batch at a time, in turn with the lease renewals (inTurn()).
 *
 *   ack(id) / modAck(id, s) --(20 ms)--> ModifyAckDeadline(s) per deadline, answered --> Acknowledge(acked ids)
 *
 * A waiter (ackWithResponse / nackWithResponse) is told whether Pub/Sub took its message.
 */
import type { Logger } from './logger';
import { chunks, type SettleRpc } from './subscriber-rpc';

/** Acks and deadline changes are sent in batches, at most this late. */
export const SETTLE_BATCH_MS = 20;

/** Pub/Sub refused an ack or deadline change; `code` is its per-message reason when it gave one (e.g. PERMANENT_FAILURE_INVALID_ACK_ID). */
export class AckFailedError extends Error {
  override readonly name = 'AckFailedError';
  constructor(
    message: string,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Told how one message's ack or deadline change went; undefined when nobody asked (a failure is logged). */
export type Waiter = { resolve(): void; reject(error: Error): void } | undefined;

export interface SettleQueueOptions {
  rpc: SettleRpc;
  log: Logger;
  /** Subscription id, for the log. */
  subscription: string;
  /** Default SETTLE_BATCH_MS. */
  batchMs?: number;
}

export class SettleQueue {
  private readonly acks = new Map<string, Waiter>();
  /** deadline seconds -> ack ids. */
  private readonly deadlines = new Map<number, Map<string, Waiter>>();
  private timer?: NodeJS.Timeout;
  /**
   * Every Acknowledge / ModifyAckDeadline goes through this chain, one batch at a time: a lease
   * renewal answered after a nack's ModifyAckDeadline(0) would otherwise hold the message back for a
   * whole ack deadline (Pub/Sub applies whichever arrives last).
   */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: SettleQueueOptions) {}

  /** Queues an Acknowledge. */
  ack(ackId: string, waiter?: Waiter): void {
    this.acks.set(ackId, waiter);
    this.schedule();
  }

  /** Queues a ModifyAckDeadline (0 = redeliver at once). */
  modAck(ackId: string, seconds: number, waiter?: Waiter): void {
    let ids = this.deadlines.get(seconds);
    if (!ids) this.deadlines.set(seconds, (ids = new Map()));
    ids.set(ackId, waiter);
    this.schedule();
  }

  /** Runs task once every batch sent before it has been answered; the next batch waits for it. */
  inTurn(task: () => Promise<void>): Promise<void> {
    const next = this.chain.then(task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Sends what is queued when its turn comes (now, not after the batch delay); resolves when those
   * calls are answered. Deadline changes (nacks) go first, acks once they are answered. Why, on an
   * ordered exactly-once subscription of the emulator: a message nacked while a later one of its key
   * waits is redelivered behind it ([B, A] after A's nack), and an ack of A is then refused
   * (INVALID_ARGUMENT) while B, "ahead" of it, is out, which leaves the key stuck for a whole ack
   * deadline. The runtime nacks B (it waits for A) and acks A; sent in that order both go through.
   * In GCP the order is harmless.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.inTurn(async () => {
      const acks = [...this.acks];
      this.acks.clear();
      const deadlines = [...this.deadlines];
      this.deadlines.clear();
      const { rpc } = this.options;
      const changes: Promise<void>[] = [];
      for (const [seconds, ids] of deadlines) {
        for (const batch of chunks([...ids])) changes.push(this.send('modifyAckDeadline', (ackIds) => rpc.modifyAckDeadline(ackIds, seconds), batch));
      }
      await Promise.all(changes);
      await Promise.all(chunks(acks).map((batch) => this.send('acknowledge', (ackIds) => rpc.acknowledge(ackIds), batch)));
    });
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.batchMs ?? SETTLE_BATCH_MS);
  }

  /**
   * One Acknowledge / ModifyAckDeadline. On an exactly-once subscription a failed call names the ack
   * ids that failed (ErrorInfo metadata, as the Node client reads it); the others went through.
   */
  private async send(method: 'acknowledge' | 'modifyAckDeadline', call: (ackIds: string[]) => Promise<void>, batch: [string, Waiter][]): Promise<void> {
    try {
      await call(batch.map(([id]) => id));
      for (const [, waiter] of batch) waiter?.resolve();
    } catch (error) {
      const perId = (error as { errorInfoMetadata?: Record<string, string> }).errorInfoMetadata;
      let unreported = 0;
      for (const [ackId, waiter] of batch) {
        const code = perId ? perId[ackId] : undefined;
        if (perId && !code) {
          waiter?.resolve();
          continue;
        }
        if (waiter) waiter.reject(new AckFailedError(`${method} failed: ${(error as Error).message}`, code, { cause: error }));
        else unreported++;
      }
      if (!unreported) return;
      this.options.log.warn({ err: error, subscription: this.options.subscription, messages: unreported }, `${method} failed; Pub/Sub will redeliver`);
    }
  }
}
