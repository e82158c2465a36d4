/**
 * Counting each event once, durably, within Firestore's write limits.
 *
 * Handlers call add(); the contribution waits in memory and the promise resolves only after the
 * Firestore commit that holds it succeeded, so the runtime acks an event only once its effect is
 * durable (and pull flow control bounds what waits).
 *
 * Write limits: no aggregate document is written by one instance more than once per
 * `docWriteSpacingMs` (1 s, Firestore's sustained rate per document). The hot documents (each
 * window's counters and user sketch) are sharded `shards` ways, so flushes can run every
 * `flushIntervalMs` (100 ms) on whichever shard is free: latency stays ~100 ms while each shard
 * document sees at most one write per second per instance. A post's likes document is not sharded
 * (top N is a query on it): likes of a post written less than a second ago wait for the next
 * second, so a hot post's likes are summed in memory and written once per second.
 *
 * Flushes never overlap. A flush splits its events into commits of at most 500 writes, each on its
 * own free counter shard:
 *
 *   1. getAll(dedup records of the commit's events): those that exist are duplicates -> 'duplicate';
 *   2. one batch: create() a dedup record per remaining event + the summed increments of the counter
 *      shard of each window + the writer's HyperLogLog sketch of each window + net likes per post;
 *   3. ALREADY_EXISTS (another instance committed one of these events between 1 and 2): go to 1.
 *
 * The create() preconditions make the batch all-or-nothing per event id across instances and
 * restarts; the dedup records expire after 7 days (same TTL convention as the processor).
 */
import { randomUUID } from 'node:crypto';
import { FieldValue, Timestamp, type DocumentReference, type Firestore, type WriteBatch } from '@google-cloud/firestore';
import { TransientError, type HandlerResult, type Logger } from '../../shared/consumer';
import { HyperLogLog, hashOf } from './hll';
import { DashboardLayout } from './layout';
import { GRANULARITIES, windowKey, windowSizeMs, windowStart, type Contribution, type Granularity } from './windows';

export const DEDUP_TTL_MS = 7 * 24 * 3600 * 1000;
const ALREADY_EXISTS = 6;
const FIRESTORE_MAX_WRITES = 500;

export interface AggregatorOptions {
  /** Least time between the starts of two flushes. Default 100 ms. */
  flushIntervalMs?: number;
  /** Least time between two writes of one aggregate document by this instance. Default 1000 ms. */
  docWriteSpacingMs?: number;
  /** Counter (and sketch) shards per window. Throughput per instance is at most shards x ~450 events/s. Default 10. */
  shards?: number;
  /** Writes per commit, at most Firestore's 500. Default 500. */
  maxWritesPerCommit?: number;
  /** Commits of one flush run in parallel up to this. Default 4. */
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

interface Pending {
  c: Contribution;
  key: string;
  dedupRef: DocumentReference;
  /** Document id of each post liked, validated at add() time so a bad id is poison, not a failed flush. */
  postRef?: Record<Granularity, DocumentReference>;
  resolve: (result: HandlerResult) => void;
  reject: (error: Error) => void;
  promise: Promise<HandlerResult>;
}

interface Sketches {
  /** topic -> sketch. */
  topics: Map<string, HyperLogLog>;
  ref: DocumentReference;
}

export interface AggregatorStats {
  pending: number;
  flushes: number;
  commits: number;
  counted: number;
  duplicates: number;
  conflicts: number;
  failedCommits: number;
  lastFlushMs: number;
}

export class Aggregator {
  readonly layout: DashboardLayout;
  readonly writerId: string;
  private readonly flushIntervalMs: number;
  private readonly docWriteSpacingMs: number;
  /** Aggregate document (shard index, post likes path) -> when this instance last wrote it. */
  private readonly lastWrite = new Map<string, number>();
  private lastFlushStart = 0;
  private readonly shardCount: number;
  private readonly maxWrites: number;
  private readonly maxParallel: number;
  private readonly dedupTtlMs: number;
  private readonly windowTtlMs: Record<Granularity, number>;
  private readonly maxSketches: number;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  private readonly log?: Logger;

  private pending: Pending[] = [];
  /** consumer + event id -> its entry, while waiting or committing: a second copy waits for the first. */
  private readonly known = new Map<string, Pending>();
  /** granularity|window|shard -> this writer's sketches, least recently used first. */
  private readonly sketches = new Map<string, Sketches>();
  private sketchGeneration = 0;
  private nextShard: number;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private eager = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: AggregatorStats = { pending: 0, flushes: 0, commits: 0, counted: 0, duplicates: 0, conflicts: 0, failedCommits: 0, lastFlushMs: 0 };

  constructor(
    readonly db: Firestore,
    options: AggregatorOptions = {},
  ) {
    this.layout = new DashboardLayout(db);
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.docWriteSpacingMs = options.docWriteSpacingMs ?? 1000;
    this.shardCount = options.shards ?? 10;
    this.maxWrites = Math.min(FIRESTORE_MAX_WRITES, options.maxWritesPerCommit ?? FIRESTORE_MAX_WRITES);
    this.maxParallel = options.maxParallelCommits ?? 4;
    this.dedupTtlMs = options.dedupTtlMs ?? DEDUP_TTL_MS;
    this.windowTtlMs = { minute: 2 * 86400_000, hour: 35 * 86400_000, ...options.windowTtlMs };
    this.maxSketches = options.maxSketches ?? 2000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.writerId = options.writerId ?? randomUUID().slice(0, 13);
    this.now = options.now ?? Date.now;
    this.log = options.log;
    this.nextShard = Math.floor(Math.random() * this.shardCount);
    if (this.shardCount < 1 || this.maxWrites < 1 + 2 * 2 * GRANULARITIES.length) throw new RangeError('shards must be >= 1 and maxWritesPerCommit large enough for one event');
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
    let postRef: Pending['postRef'];
    if (c.like) {
      const like = c.like;
      postRef = Object.fromEntries(GRANULARITIES.map((g) => [g, this.layout.postLikes(g, windowKey(g, windowStart(g, c.timeMs)), like.postId)])) as Record<Granularity, DocumentReference>;
    }
    let resolve!: (r: HandlerResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<HandlerResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Pending = { c, key, dedupRef, postRef, resolve, reject, promise };
    this.known.set(key, entry);
    this.pending.push(entry);
    this.stats.pending = this.pending.length;
    this.schedule();
    return promise;
  }

  /** From now on flush as soon as anything waits (shutdown: in-flight handlers must not wait a second). */
  drain(): void {
    this.eager = true;
    this.schedule();
  }

  /** Flushes what waits now and resolves when nothing waits or commits. */
  async idle(): Promise<void> {
    if (!this.pending.length && !this.flushing) return;
    this.drain();
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes everything and stops the timer. */
  async close(): Promise<void> {
    await this.idle();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.flushing || !this.pending.length) return;
    const wait = this.eager ? 0 : this.lastFlushStart + this.flushIntervalMs - Date.now();
    if (wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.startFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      this.timer.unref();
    }
  }

  /** Free = not written by this instance within docWriteSpacingMs (always free while draining). */
  private isFree(doc: string, now: number): boolean {
    if (this.eager) return true;
    const at = this.lastWrite.get(doc);
    return at === undefined || now - at >= this.docWriteSpacingMs;
  }

  private startFlush(): void {
    const now = Date.now();
    this.lastFlushStart = now;
    const freeShards: number[] = [];
    for (let i = 0; i < this.shardCount; i++) {
      const shard = (this.nextShard + i) % this.shardCount;
      if (this.isFree(`shard:${shard}`, now)) freeShards.push(shard);
    }
    // Events whose post likes document was written within the last second wait for the next flush.
    const ready: Pending[] = [];
    const waiting: Pending[] = [];
    for (const p of this.pending) {
      if (!freeShards.length || ready.length >= freeShards.length * this.maxWrites) waiting.push(p);
      else if (p.postRef && !GRANULARITIES.every((g) => this.isFree(p.postRef![g].path, now))) waiting.push(p);
      else ready.push(p);
    }
    // At most one commit per free shard: two commits never race to overwrite the same sketch.
    const chunks = this.chunk(ready);
    const committing = chunks.slice(0, freeShards.length);
    this.pending = [...chunks.slice(freeShards.length).flat(), ...waiting];
    this.stats.pending = this.pending.length;
    if (!committing.length) {
      this.schedule();
      return;
    }
    const assigned = committing.map((chunk, i) => ({ chunk, shard: freeShards[i] }));
    for (const { chunk, shard } of assigned) {
      this.lastWrite.set(`shard:${shard}`, now);
      for (const p of chunk) if (p.postRef) for (const g of GRANULARITIES) this.lastWrite.set(p.postRef[g].path, now);
    }
    this.nextShard = (freeShards[committing.length - 1] + 1) % this.shardCount;
    if (this.lastWrite.size > 10_000) for (const [doc, at] of this.lastWrite) if (now - at >= this.docWriteSpacingMs) this.lastWrite.delete(doc);
    this.flushing = this.flush(assigned).finally(() => {
      this.flushing = undefined;
      this.schedule();
      if (!this.pending.length && !this.flushing) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  private async flush(assigned: { chunk: Pending[]; shard: number }[]): Promise<void> {
    const started = Date.now();
    this.stats.flushes++;
    const workers = Array.from({ length: Math.min(this.maxParallel, assigned.length) }, async () => {
      for (let next = assigned.shift(); next; next = assigned.shift()) await this.commit(next.chunk, next.shard);
    });
    await Promise.all(workers);
    this.stats.lastFlushMs = Date.now() - started;
  }

  /** Splits events into groups whose commit stays within maxWrites. */
  private chunk(batch: Pending[]): Pending[][] {
    const chunks: Pending[][] = [];
    let current: Pending[] = [];
    let docs = new Set<string>();
    for (const p of batch) {
      const own = this.docsOf(p);
      let added = 0;
      for (const d of own) if (!docs.has(d)) added++;
      if (current.length && current.length + docs.size + 1 + added > this.maxWrites) {
        chunks.push(current);
        current = [];
        docs = new Set();
      }
      current.push(p);
      for (const d of own) docs.add(d);
    }
    if (current.length) chunks.push(current);
    return chunks;
  }

  /** Aggregate documents an event writes besides its dedup record (counter shard, sketch, post likes per window). */
  private docsOf(p: Pending): string[] {
    const docs: string[] = [];
    for (const g of GRANULARITIES) {
      const w = `${g}|${windowKey(g, windowStart(g, p.c.timeMs))}`;
      docs.push(w);
      if (p.c.userId) docs.push(`${w}|users`);
      if (p.postRef) docs.push(p.postRef[g].path);
    }
    return docs;
  }

  private async commit(chunk: Pending[], shard: number): Promise<void> {
    let live = chunk;
    for (let attempt = 1; ; attempt++) {
      try {
        const snaps = await this.db.getAll(...live.map((p) => p.dedupRef));
        const fresh: Pending[] = [];
        live.forEach((p, i) => {
          if (snaps[i].exists) this.settle(p, 'duplicate');
          else fresh.push(p);
        });
        live = fresh;
        if (!live.length) return;
        const batch = this.db.batch();
        this.write(batch, live, shard);
        await batch.commit();
        this.stats.commits++;
        for (const p of live) this.settle(p, 'done');
        return;
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === ALREADY_EXISTS && attempt < this.maxAttempts) {
          this.stats.conflicts++;
          continue; // another instance counted one of these meanwhile: read the dedup records again
        }
        this.stats.failedCommits++;
        this.log?.warn({ err: error, events: live.length, attempt }, 'dashboard commit failed; its events will be redelivered');
        const failure = new TransientError(`dashboard aggregate commit failed: ${(error as Error).message}`, { cause: error });
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

  /** The writes of one commit: dedup creates, then per window one counter shard, one sketch, likes per post. */
  private write(batch: WriteBatch, events: Pending[], shard: number): void {
    const nowMs = this.now();
    const dedupExpiry = Timestamp.fromMillis(nowMs + this.dedupTtlMs);
    interface WindowSum {
      g: Granularity;
      start: number;
      key: string;
      total: number;
      events: Record<string, Record<string, number>>;
      orders: Record<string, number>;
      likes: number;
      users: Map<string, string[]>;
    }
    const windows = new Map<string, WindowSum>();
    const likes = new Map<string, { ref: DocumentReference; postId: string; start: number; g: Granularity; window: string; delta: number }>();
    for (const p of events) {
      const { c } = p;
      batch.create(p.dedupRef, { consumer: c.consumer, eventId: c.eventId, type: c.type, countedAt: FieldValue.serverTimestamp(), expiresAt: dedupExpiry });
      for (const g of GRANULARITIES) {
        const start = windowStart(g, c.timeMs);
        const key = windowKey(g, start);
        let w = windows.get(`${g}|${key}`);
        if (!w) windows.set(`${g}|${key}`, (w = { g, start, key, total: 0, events: {}, orders: {}, likes: 0, users: new Map() }));
        w.total++;
        const byType = (w.events[c.topic] ??= {});
        byType[c.type] = (byType[c.type] ?? 0) + 1;
        if (c.orderState) w.orders[c.orderState] = (w.orders[c.orderState] ?? 0) + 1;
        if (c.userId) {
          const list = w.users.get(c.topic) ?? [];
          list.push(c.userId);
          w.users.set(c.topic, list);
        }
        if (c.like && p.postRef) {
          w.likes += c.like.delta;
          const ref = p.postRef[g];
          const l = likes.get(ref.path) ?? { ref, postId: c.like.postId, start, g, window: key, delta: 0 };
          l.delta += c.like.delta;
          likes.set(ref.path, l);
        }
      }
    }
    const inc = (n: number) => FieldValue.increment(n);
    for (const w of windows.values()) {
      const expiresAt = Timestamp.fromMillis(w.start + windowSizeMs(w.g) + this.windowTtlMs[w.g]);
      const start = Timestamp.fromMillis(w.start);
      const events: Record<string, Record<string, FieldValue>> = {};
      for (const [topic, types] of Object.entries(w.events)) events[topic] = Object.fromEntries(Object.entries(types).map(([t, n]) => [t, inc(n)]));
      batch.set(
        this.layout.shard(w.g, w.key, shard),
        { granularity: w.g, window: w.key, start, shard, expiresAt, total: inc(w.total), likes: inc(w.likes), events, orders: Object.fromEntries(Object.entries(w.orders).map(([s, n]) => [s, inc(n)])) },
        { merge: true },
      );
      if (w.users.size) {
        const sketches = this.sketchesFor(w.g, w.key, shard);
        for (const [topic, users] of w.users) {
          let hll = sketches.topics.get(topic);
          if (!hll) sketches.topics.set(topic, (hll = new HyperLogLog()));
          for (const u of users) hll.addHash(hashOf(u));
        }
        // A blind overwrite: this process is the only writer of this document and its registers only grow.
        batch.set(sketches.ref, { granularity: w.g, window: w.key, start, expiresAt, writer: this.writerId, topics: Object.fromEntries([...sketches.topics].map(([t, h]) => [t, h.toBytes()])) });
      }
    }
    for (const l of likes.values()) {
      const expiresAt = Timestamp.fromMillis(l.start + windowSizeMs(l.g) + this.windowTtlMs[l.g]);
      batch.set(l.ref, { postId: l.postId, window: l.window, start: Timestamp.fromMillis(l.start), expiresAt, count: inc(l.delta) }, { merge: true });
    }
  }

  /** This writer's sketches of one window and shard; an evicted window comes back under a new document. */
  private sketchesFor(g: Granularity, window: string, shard: number): Sketches {
    const key = `${g}|${window}|${shard}`;
    let s = this.sketches.get(key);
    if (s) this.sketches.delete(key);
    else s = { topics: new Map(), ref: this.layout.userSketch(g, window, `${this.writerId}-${this.sketchGeneration++}`, shard) };
    this.sketches.set(key, s);
    if (this.sketches.size > this.maxSketches) this.sketches.delete(this.sketches.keys().next().value!);
    return s;
  }
}
