/**
 * What one dashboard commit writes (see aggregator.ts for when it commits): a dedup record per event,
 * then per window the commit's counter shard (summed increments), this writer's HyperLogLog sketch of
 * the window's users, and the likes buckets its likes touch. Also which aggregate documents an event
 * writes, so the aggregator can fill a commit up to Firestore's 500 writes.
 */
import { FieldValue, Timestamp, type DocumentReference, type WriteBatch } from '@google-cloud/firestore';
import { LIKES_POSTS_FIELD } from '../../shared/firestore';
import { HyperLogLog, hashOf } from './hll';
import type { DashboardLayout } from './layout';
import { GRANULARITIES, windowKey, windowSizeMs, windowStart, type Contribution, type Granularity } from './windows';

/** One event as a commit writes it. */
export interface CountedEvent {
  c: Contribution;
  dedupRef: DocumentReference;
  /** Map key and bucket of the post liked, validated at add() time so a bad id is poison, not a failed commit. */
  post?: { key: string; bucket: number };
}

interface Sketches {
  /** topic -> sketch. */
  topics: Map<string, HyperLogLog>;
  ref: DocumentReference;
}

export interface AggregateWriterOptions {
  layout: DashboardLayout;
  /** Names this process's sketch documents (each process writes only its own). */
  writerId: string;
  /** Dedup record lifetime (expiresAt). */
  dedupTtlMs: number;
  /** How long aggregates are kept after their window ends (expiresAt). */
  windowTtlMs: Record<Granularity, number>;
  /** HyperLogLog sketches kept in memory. */
  maxSketches: number;
  now: () => number;
}

export class AggregateWriter {
  private readonly layout: DashboardLayout;
  private readonly writerId: string;
  private readonly dedupTtlMs: number;
  private readonly windowTtlMs: Record<Granularity, number>;
  private readonly maxSketches: number;
  private readonly now: () => number;
  /** granularity|window|shard -> this writer's sketches, least recently used first. */
  private readonly sketches = new Map<string, Sketches>();
  private sketchGeneration = 0;

  constructor(options: AggregateWriterOptions) {
    this.layout = options.layout;
    this.writerId = options.writerId;
    this.dedupTtlMs = options.dedupTtlMs;
    this.windowTtlMs = options.windowTtlMs;
    this.maxSketches = options.maxSketches;
    this.now = options.now;
  }

  /** Aggregate documents an event writes besides its dedup record (counter shard, sketch, likes bucket per window). */
  docsOf(p: CountedEvent): string[] {
    const docs: string[] = [];
    for (const g of GRANULARITIES) {
      const w = `${g}|${windowKey(g, windowStart(g, p.c.timeMs))}`;
      docs.push(w);
      if (p.c.userId) docs.push(`${w}|users`);
      if (p.post) docs.push(`${w}|likes|${p.post.bucket}`);
    }
    return docs;
  }

  /**
   * The writes of one commit: dedup creates, then per window one counter shard, one sketch, the likes
   * buckets touched. Returns what to call once the batch committed: the sketches kept in memory take
   * the commit's users only then (a refused commit, e.g. ALREADY_EXISTS for a duplicate republished
   * with a later ce-time, must not leave its users in a window it never counted).
   */
  write(batch: WriteBatch, events: CountedEvent[], shard: number): () => void {
    const onCommitted: (() => void)[] = [];
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
    /** granularity|window|bucket -> net likes per post key. */
    const likes = new Map<string, { g: Granularity; start: number; window: string; bucket: number; posts: Map<string, number> }>();
    for (const p of events) {
      const { c } = p;
      // Lean on purpose (the path names consumer and event): a field more costs on every event.
      batch.create(p.dedupRef, { expiresAt: dedupExpiry });
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
        if (c.like && p.post) {
          w.likes += c.like.delta;
          const at = `${g}|${key}|${p.post.bucket}`;
          let l = likes.get(at);
          if (!l) likes.set(at, (l = { g, start, window: key, bucket: p.post.bucket, posts: new Map() }));
          l.posts.set(p.post.key, (l.posts.get(p.post.key) ?? 0) + c.like.delta);
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
        {
          granularity: w.g,
          window: w.key,
          start,
          shard,
          expiresAt,
          total: inc(w.total),
          likes: inc(w.likes),
          events,
          // Only maps with keys: in a merge, an empty map is a leaf that REPLACES the stored map
          // (an analytics-only commit wrote `orders: {}` and wiped the window's order states).
          ...(Object.keys(w.orders).length ? { orders: Object.fromEntries(Object.entries(w.orders).map(([s, n]) => [s, inc(n)])) } : {}),
        },
        { merge: true },
      );
      if (w.users.size) {
        const sketches = this.sketchesFor(w.g, w.key, shard);
        // A copy per topic written (the size of the toBytes() below): the kept sketch changes only on commit.
        const next = new Map(sketches.topics);
        for (const [topic, users] of w.users) {
          const base = sketches.topics.get(topic);
          const hll = base ? new HyperLogLog(Uint8Array.from(base.registers)) : new HyperLogLog();
          for (const u of users) hll.addHash(hashOf(u));
          next.set(topic, hll);
        }
        // A blind overwrite: this process is the only writer of this document and its registers only grow.
        batch.set(sketches.ref, {
          granularity: w.g,
          window: w.key,
          start,
          expiresAt,
          writer: this.writerId,
          topics: Object.fromEntries([...next].map(([t, h]) => [t, h.toBytes()])),
        });
        onCommitted.push(() => {
          for (const [topic, hll] of next) sketches.topics.set(topic, hll);
        });
      }
    }
    for (const l of likes.values()) {
      const expiresAt = Timestamp.fromMillis(l.start + windowSizeMs(l.g) + this.windowTtlMs[l.g]);
      const posts = Object.fromEntries([...l.posts].map(([post, n]) => [post, inc(n)]));
      batch.set(
        this.layout.likeShard(l.g, l.window, shard, l.bucket),
        { granularity: l.g, window: l.window, start: Timestamp.fromMillis(l.start), shard, bucket: l.bucket, expiresAt, [LIKES_POSTS_FIELD]: posts },
        { merge: true },
      );
    }
    return () => {
      for (const apply of onCommitted) apply();
    };
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
