/**
 * Groups items into batches by count, bytes and time, writes each batch with one call, and settles
 * every item's promise with that item's own result. The warehouse handler awaits its row's promise,
 * so a message is acked only after its batch is written.
 *
 * The batcher itself has no size limit on purpose: what bounds it is the caller's intake. Each
 * pending item is an unacked message, and the subscriber's flow control (the spec's maxMessages /
 * maxBytes) stops pulling once that many are outstanding. A slow or failing write therefore slows
 * the pull down instead of growing a buffer; at most `maxConcurrentWrites` batches are written at
 * once, and full batches beyond that wait their turn.
 *
 * A batch whose delay has passed while every write slot is busy stays open and keeps filling (up to
 * maxItems / maxBytes) until a slot frees. Sealing it on time would queue a small batch per delay:
 * once a write takes longer than maxConcurrentWrites x maxDelayMs, those small batches would arrive
 * faster than they are written, and the backlog would grow for good, though one larger request costs
 * little more than a small one (insertAll, `npm run bench -- warehouse`: 100 rows a request reach
 * 0.68 of the rows/s of 500). Under load the batches grow instead, and a row waits no longer than it
 * would have in the queue.
 */

export interface BatcherOptions {
  /** Write a batch once it has this many items. Default 500 (BigQuery's recommended insertAll size). */
  maxItems?: number;
  /** Write a batch before it would grow past this many bytes. Default 5 MiB (insertAll takes 10 MB). */
  maxBytes?: number;
  /** Write a non-empty batch at the latest this long after its first item arrived. Default 200 ms. */
  maxDelayMs?: number;
  /** Batches being written at once; default 2. */
  maxConcurrentWrites?: number;
}

/** Writes one batch; returns one result per item, in order: a value, or an Error that fails only that item. */
export type BatchWriter<T, R> = (items: T[]) => Promise<(R | Error)[]>;

export interface BatcherStats {
  /** Items added and not yet settled (buffered, queued or being written). */
  pending: number;
  /** Highest `pending` seen. */
  peakPending: number;
  /** Batches written (successfully or not). */
  batches: number;
  /** Batches whose write threw (every item of them failed). */
  failedBatches: number;
  /** Items whose write succeeded. */
  written: number;
}

interface Entry<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: Error) => void;
}

interface Batch<T, R> {
  entries: Entry<T, R>[];
  bytes: number;
}

/** The writer returned a result list of the wrong length: a bug in the writer, reported on each item. */
export class BatchResultMismatchError extends Error {
  override readonly name = 'BatchResultMismatchError';
}

export class Batcher<T, R> {
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly maxDelayMs: number;
  private readonly maxConcurrentWrites: number;
  private open: Batch<T, R> = { entries: [], bytes: 0 };
  private timer?: NodeJS.Timeout;
  /** The open batch's delay has passed: it is written as soon as a slot is free. */
  private due = false;
  /** Sealed batches (full, or sealed by flushEagerly / idle) waiting for a write slot. */
  private readonly sealed: Batch<T, R>[] = [];
  private writing = 0;
  private immediate = false;
  private idleWaiters: (() => void)[] = [];
  private readonly counters: BatcherStats = { pending: 0, peakPending: 0, batches: 0, failedBatches: 0, written: 0 };

  constructor(
    private readonly write: BatchWriter<T, R>,
    options: BatcherOptions = {},
  ) {
    this.maxItems = Math.max(1, options.maxItems ?? 500);
    this.maxBytes = Math.max(1, options.maxBytes ?? 5 * 1024 * 1024);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 200);
    this.maxConcurrentWrites = Math.max(1, options.maxConcurrentWrites ?? 2);
  }

  /** Resolves with the item's result once its batch is written; rejects if its write failed. */
  add(item: T, bytes: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      // A batch never grows past maxBytes, except that an item bigger than that goes alone.
      if (this.open.entries.length && this.open.bytes + bytes > this.maxBytes) this.seal();
      this.open.entries.push({ item, resolve, reject });
      this.open.bytes += bytes;
      this.counters.pending++;
      this.counters.peakPending = Math.max(this.counters.peakPending, this.counters.pending);
      if (this.immediate || this.open.entries.length >= this.maxItems) this.seal();
      else if (!this.due) this.timer ??= setTimeout(() => this.expire(), this.maxDelayMs);
    });
  }

  /** Seals what is buffered now and, from now on, every item as it arrives (shutdown: no waiting for more). */
  flushEagerly(): void {
    this.immediate = true;
    this.seal();
  }

  /** Resolves once nothing is buffered or being written (seals the open batch first). */
  async idle(): Promise<void> {
    this.seal();
    if (this.counters.pending === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): BatcherStats {
    return { ...this.counters };
  }

  /** The open batch's delay passed: write it now if a slot is free, else as soon as one is. */
  private expire(): void {
    this.timer = undefined;
    this.due = true;
    this.pump();
  }

  /** Moves the open batch out (to be written or queued) and starts a new one. */
  private takeOpen(): Batch<T, R> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    const batch = this.open;
    this.open = { entries: [], bytes: 0 };
    return batch;
  }

  private seal(): void {
    const batch = this.takeOpen();
    if (!batch.entries.length) return;
    this.sealed.push(batch);
    this.pump();
  }

  private pump(): void {
    while (this.writing < this.maxConcurrentWrites) {
      let batch: Batch<T, R>;
      if (this.sealed.length) batch = this.sealed.shift()!;
      else if (this.due && this.open.entries.length) batch = this.takeOpen();
      else break;
      this.writing++;
      void this.writeBatch(batch).finally(() => {
        this.writing--;
        this.pump();
        if (this.counters.pending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  private async writeBatch(batch: Batch<T, R>): Promise<void> {
    const { entries } = batch;
    this.counters.batches++;
    let results: (R | Error)[];
    try {
      results = await this.write(entries.map((e) => e.item));
      if (results.length !== entries.length) throw new BatchResultMismatchError(`batch writer returned ${results.length} results for ${entries.length} items`);
    } catch (error) {
      this.counters.failedBatches++;
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const e of entries) e.reject(failure);
      this.counters.pending -= entries.length;
      return;
    }
    entries.forEach((e, i) => {
      const result = results[i];
      if (result instanceof Error) e.reject(result);
      else {
        this.counters.written++;
        e.resolve(result);
      }
    });
    this.counters.pending -= entries.length;
  }
}
