/**
 * Counting each event once, durably, within Firestore's write limits.
 *
 * Handlers call add(); the contribution waits in memory and the promise resolves only after the
 * Firestore commit that holds it succeeded, so the runtime acks an event only once its effect is
 * durable (and pull flow control bounds what waits).
 *
 * Write limits: no aggregate document is written by one instance more than once per
 * `docWriteSpacingMs` (1 s, Firestore's sustained rate per document). The hot documents (each
 * window's counters and user sketch) are sharded `shards` ways and every commit holds one shard, so
 * a commit may start every `flushIntervalMs` (50 ms), or at once when a full commit waits, while
 * each shard document sees at most one write per second per instance. Commits overlap (up to
 * `maxParallelCommits`): one in flight never holds back the next batch. Net likes per post follow
 * the same sharding: each commit adds its likes to its shard's likes documents (a map post -> count,
 * split over `likeBuckets` documents by post), so a hot post never waits for its document, and the
 * top N of a window is the sum of its few likes documents (exact).
 *
 * A commit holds at most 500 writes:
 *
 *   1. one batch: create() a dedup record per event + the summed increments of the commit's counter
 *      shard of each window + the writer's HyperLogLog sketch of each window + the shard's net likes
 *      per post of each window;
 *   2. ALREADY_EXISTS (one of the events was counted before, here or by another instance): read the
 *      batch's dedup records, settle those that exist as 'duplicate', go to 1 with the rest.
 *   3. Any other failure that may be one event's doing (poison or unexpected, shared/consumer/classify.ts):
 *      commit each half apart, down to the one event that fails alone, which is dead-lettered (poison)
 *      or retried alone; its neighbours commit. Failures every event shares (unavailable, deadline)
 *      fail the whole commit, and its events are redelivered.
 *
 * Most events are new, so the common case is one round trip and no read. The create() preconditions
 * make the batch all-or-nothing per event id across instances and restarts; the dedup records
 * expire after 7 days (same TTL convention as the processor). What a commit writes is in
 * aggregate-writes.ts; this file decides what goes in which commit, and when.
 */
import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { classifyError, PoisonError, TransientError, type HandlerResult, type Logger } from '../../shared/consumer';
import { DEDUP_TTL_MS } from '../../shared/firestore';
import { AggregateWriter, type CountedEvent } from './aggregate-writes';
import { bucketOf, DashboardLayout, postKey } from './layout';
import { GRANULARITIES, type Contribution, type Granularity } from './windows';

const ALREADY_EXISTS = 6;
const FIRESTORE_MAX_WRITES = 500;

export interface AggregatorOptions {
  /** Least time between the starts of two commits, unless a full commit waits. Default 50 ms. */
  flushIntervalMs?: number;
  /** Least time between two writes of one aggregate document by this instance. Default 1000 ms. */
  docWriteSpacingMs?: number;
  /**
   * Counter (and sketch, and likes) shards per window: at most this many commits a second per
   * instance (~490 events each), and what a reader sums per window. Default 20.
   */
  shards?: number;
  /**
   * Likes documents per window and shard, posts spread over them by a hash of the post id. Each holds
   * a map post -> net likes and must stay under Firestore's 1 MiB: about 20 000 posts. Default 2.
   */
  likeBuckets?: number;
  /** Writes per commit, at most Firestore's 500. Default 500. */
  maxWritesPerCommit?: number;
  /** Commits in flight at once. Default 4. */
  maxParallelCommits?: number;
  /** Dedup record lifetime (expiresAt). Default 7 days. */
  dedupTtlMs?: number;
  /** How long aggregates are kept after their window ends (expiresAt). Default minute 2 days, hour 35 days. */
  windowTtlMs?: Partial<Record<Granularity, number>>;
  /** HyperLogLog sketches kept in memory (4 KiB each at most). Default 2000. */
  maxSketches?: number;
  /** Retries of a commit that lost an ALREADY_EXISTS race. Default 5. */
  maxAttempts?: number;
  /** Names this process's sketch documents; default a random id (each process writes only its own). */
  writerId?: string;
  now?: () => number;
  log?: Logger;
}

interface Pending extends CountedEvent {
  key: string;
  resolve: (result: HandlerResult) => void;
  reject: (error: Error) => void;
  promise: Promise<HandlerResult>;
}

export interface AggregatorStats {
  pending: number;
  /** Commits started, and committed. */
  started: number;
  commits: number;
  counted: number;
  duplicates: number;
  conflicts: number;
  failedCommits: number;
  lastCommitMs: number;
}

export class Aggregator {
  readonly layout: DashboardLayout;
  readonly writerId: string;
  private readonly flushIntervalMs: number;
  private readonly docWriteSpacingMs: number;
  /** Counter shard -> when this instance last started a commit on it (its documents' last write). */
  private readonly shardWrittenAt: number[];
  private lastCommitStart = 0;
  private readonly shardCount: number;
  private readonly likeBuckets: number;
  private readonly maxWrites: number;
  private readonly maxParallel: number;
  private readonly maxAttempts: number;
  private readonly log?: Logger;
  private readonly writer: AggregateWriter;

  private pending: Pending[] = [];
  /** consumer + event id -> its entry, while waiting or committing: a second copy waits for the first. */
  private readonly known = new Map<string, Pending>();
  private nextShard: number;
  private timer?: NodeJS.Timeout;
  /** Commits in flight, and the counter shards they hold (one commit per shard: sketches never race). */
  private running = 0;
  private readonly busyShards = new Set<number>();
  private eager = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: AggregatorStats = { pending: 0, started: 0, commits: 0, counted: 0, duplicates: 0, conflicts: 0, failedCommits: 0, lastCommitMs: 0 };

  constructor(
    readonly db: Firestore,
    options: AggregatorOptions = {},
  ) {
    this.layout = new DashboardLayout(db);
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.docWriteSpacingMs = options.docWriteSpacingMs ?? 1000;
    this.shardCount = options.shards ?? 20;
    this.likeBuckets = options.likeBuckets ?? 2;
    this.maxWrites = Math.min(FIRESTORE_MAX_WRITES, options.maxWritesPerCommit ?? FIRESTORE_MAX_WRITES);
    this.maxParallel = options.maxParallelCommits ?? 4;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.writerId = options.writerId ?? randomUUID().slice(0, 13);
    this.log = options.log;
    this.writer = new AggregateWriter({
      layout: this.layout,
      writerId: this.writerId,
      dedupTtlMs: options.dedupTtlMs ?? DEDUP_TTL_MS,
      windowTtlMs: { minute: 2 * 86400_000, hour: 35 * 86400_000, ...options.windowTtlMs },
      maxSketches: options.maxSketches ?? 2000,
      now: options.now ?? Date.now,
    });
    this.nextShard = Math.floor(Math.random() * this.shardCount);
    this.shardWrittenAt = new Array<number>(this.shardCount).fill(-Infinity);
    if (this.shardCount < 1 || this.maxWrites < 1 + 2 * 2 * GRANULARITIES.length)
      throw new RangeError('shards must be >= 1 and maxWritesPerCommit large enough for one event');
  }

  /**
   * Queues one event's contribution; resolves 'done' once committed, 'duplicate' when the event id
   * was counted before (here or by another instance). Throws PoisonError at once for ids Firestore
   * cannot store; rejects with TransientError when the commit failed (the event is redelivered).
   */
  add(c: Contribution): Promise<HandlerResult> {
    const key = `${c.consumer}\u0000${c.eventId}`;
    const seen = this.known.get(key);
    if (seen) return seen.promise.then(() => 'duplicate');
    const dedupRef = this.layout.dedup(c.consumer, c.eventId);
    const post = c.like ? { key: postKey(c.like.postId), bucket: bucketOf(c.like.postId, this.likeBuckets) } : undefined;
    let resolve!: (r: HandlerResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<HandlerResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Pending = { c, key, dedupRef, post, resolve, reject, promise };
    this.known.set(key, entry);
    this.pending.push(entry);
    this.stats.pending = this.pending.length;
    // A timer is set while a batch fills; only a full batch needs to start a commit before it fires.
    if (!this.timer || this.pending.length >= this.maxWrites) this.schedule();
    return promise;
  }

  /** From now on commit as soon as anything waits (shutdown: in-flight handlers must not wait a second). */
  drain(): void {
    this.eager = true;
    this.schedule();
  }

  /** Commits what waits now and resolves when nothing waits or commits. */
  async idle(): Promise<void> {
    if (!this.pending.length && !this.running) return;
    this.drain();
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Commits everything and stops the timer. */
  async close(): Promise<void> {
    await this.idle();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Starts commits while events wait, a commit slot and a counter shard are free, and either a full
   * commit's worth waits or `flushIntervalMs` passed since the last commit started. Commits overlap
   * (each holds its own shard), so a commit in flight never stops the next batch from starting.
   */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length && this.running < this.maxParallel) {
      const now = Date.now();
      const shard = this.freeShard(now);
      if (shard === undefined) return this.wakeIn(this.shardFreeIn(now));
      const due = this.eager || now - this.lastCommitStart >= this.flushIntervalMs;
      const chunk = this.takeChunk(!due);
      if (!chunk) return this.wakeIn(this.lastCommitStart + this.flushIntervalMs - now);
      this.startCommit(chunk, shard, now);
    }
  }

  private wakeIn(ms: number): void {
    this.timer = setTimeout(() => this.schedule(), Math.max(1, ms));
    this.timer.unref();
  }

  /** The next counter shard no commit holds and (unless draining) not written within the spacing. */
  private freeShard(now: number): number | undefined {
    for (let i = 0; i < this.shardCount; i++) {
      const shard = (this.nextShard + i) % this.shardCount;
      if (!this.busyShards.has(shard) && (this.eager || now - this.shardWrittenAt[shard] >= this.docWriteSpacingMs)) return shard;
    }
    return undefined;
  }

  private shardFreeIn(now: number): number {
    let soonest = this.docWriteSpacingMs;
    for (let shard = 0; shard < this.shardCount; shard++) {
      if (this.busyShards.has(shard)) continue; // its commit's end schedules again
      soonest = Math.min(soonest, this.shardWrittenAt[shard] + this.docWriteSpacingMs - now);
    }
    return soonest;
  }

  /**
   * Takes the waiting events of one commit (at most maxWrites writes), oldest first. With
   * `onlyFull` it takes nothing unless the commit is full. Undefined when nothing was taken.
   */
  private takeChunk(onlyFull: boolean): Pending[] | undefined {
    const chunk: Pending[] = [];
    const rest: Pending[] = [];
    const docs = new Set<string>();
    let full = false;
    for (const p of this.pending) {
      if (full) {
        rest.push(p);
        continue;
      }
      const own = this.writer.docsOf(p);
      let added = 0;
      for (const d of own) if (!docs.has(d)) added++;
      if (chunk.length && chunk.length + docs.size + 1 + added > this.maxWrites) {
        full = true;
        rest.push(p);
        continue;
      }
      chunk.push(p);
      for (const d of own) docs.add(d);
    }
    if (!chunk.length || (onlyFull && !full)) return undefined;
    this.pending = rest;
    this.stats.pending = rest.length;
    return chunk;
  }

  private startCommit(chunk: Pending[], shard: number, now: number): void {
    this.lastCommitStart = now;
    this.running++;
    this.busyShards.add(shard);
    this.shardWrittenAt[shard] = now;
    this.nextShard = (shard + 1) % this.shardCount;
    this.stats.started++;
    const started = Date.now();
    void this.commit(chunk, shard).finally(() => {
      this.stats.lastCommitMs = Date.now() - started;
      this.running--;
      this.busyShards.delete(shard);
      this.schedule();
      if (!this.pending.length && !this.running) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  private async commit(chunk: Pending[], shard: number): Promise<void> {
    let live = chunk;
    // Optimistic: most events are new, so the first attempt commits without reading; only a commit
    // refused with ALREADY_EXISTS reads the dedup records to find which events were counted before.
    let read = false;
    for (let attempt = 1; ; attempt++) {
      try {
        if (read) {
          const snaps = await this.db.getAll(...live.map((p) => p.dedupRef));
          const fresh: Pending[] = [];
          live.forEach((p, i) => {
            if (snaps[i].exists) this.settle(p, 'duplicate');
            else fresh.push(p);
          });
          live = fresh;
          if (!live.length) return;
        }
        const batch = this.db.batch();
        const committed = this.writer.write(batch, live, shard);
        // Spacing counts from the last attempt sent, not from when the commit was scheduled: a retry
        // after ALREADY_EXISTS (or a read) can land its writes well after the schedule's stamp.
        this.shardWrittenAt[shard] = Date.now();
        await batch.commit();
        committed();
        this.stats.commits++;
        for (const p of live) this.settle(p, 'done');
        return;
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === ALREADY_EXISTS && attempt < this.maxAttempts) {
          this.stats.conflicts++;
          read = true; // some of these were counted before (here, or by another instance): find which
          continue;
        }
        this.stats.failedCommits++;
        const verdict = classifyError(error);
        if (live.length > 1 && !(verdict.kind === 'transient' && verdict.expected)) {
          // Maybe one event's doing (a value Firestore refuses, a bug on one input): find it by halves,
          // so its neighbours commit. A failure every event shares (unavailable, deadline) is not split.
          this.log?.warn({ err: error, events: live.length }, 'dashboard commit failed; committing its halves apart to find the event that fails');
          const half = Math.ceil(live.length / 2);
          await this.commit(live.slice(0, half), shard);
          await this.commit(live.slice(half), shard);
          return;
        }
        this.log?.warn({ err: error, events: live.length, attempt }, 'dashboard commit failed; its events will be redelivered');
        const failure =
          verdict.kind === 'poison'
            ? new PoisonError(`dashboard: ${verdict.message}`, verdict.reason, { cause: error })
            : new TransientError(`dashboard aggregate commit failed: ${(error as Error).message}`, { cause: error });
        for (const p of live) this.settle(p, failure);
        return;
      }
    }
  }

  private settle(p: Pending, outcome: HandlerResult | Error): void {
    this.known.delete(p.key);
    if (outcome instanceof Error) p.reject(outcome);
    else {
      if (outcome === 'done') this.stats.counted++;
      else this.stats.duplicates++;
      p.resolve(outcome);
    }
  }
}
