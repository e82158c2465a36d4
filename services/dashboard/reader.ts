/**
 * Reads the aggregates back from Firestore (never from one instance's memory, so every instance
 * shows the same numbers): counter shards summed per window, sketches merged per window, top posts.
 */
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { LIKES_POSTS_FIELD } from '../../shared/firestore';
import { HLL_STANDARD_ERROR, HyperLogLog } from './hll';
import { DashboardLayout, postIdOf } from './layout';
import { windowKey, windowSizeMs, windowStart, type Granularity } from './windows';

export interface WindowAggregate {
  granularity: Granularity;
  /** Window key, e.g. 2024-05-01T12:34. */
  window: string;
  /** ISO start and end (exclusive). */
  start: string;
  end: string;
  /** Events counted once each. */
  total: number;
  /** topic -> event type -> count. */
  events: Record<string, Record<string, number>>;
  /** topic -> count. */
  topics: Record<string, number>;
  /** Order events per state they move an order into (created, paid, shipped, cancelled). */
  orders: Record<string, number>;
  /** Net likes (like.created - like.removed). */
  likes: number;
  /** Unique users (HyperLogLog estimates): per topic and over all topics. */
  users: { total: number; byTopic: Record<string, number>; standardError: number };
}

export interface PostLikes {
  postId: string;
  likes: number;
}

export class DashboardReader {
  readonly layout: DashboardLayout;

  constructor(readonly db: Firestore) {
    this.layout = new DashboardLayout(db);
  }

  /** Windows starting at or after `sinceMs`, oldest first; windows with no events are omitted. */
  async windows(granularity: Granularity, sinceMs: number): Promise<WindowAggregate[]> {
    const since = Timestamp.fromMillis(windowStart(granularity, sinceMs));
    const [shards, sketches] = await Promise.all([
      this.layout.shards(granularity).where('start', '>=', since).get(),
      this.layout.sketches(granularity).where('start', '>=', since).get(),
    ]);
    const byWindow = new Map<string, WindowAggregate>();
    const sketchesOf = new Map<string, Map<string, HyperLogLog>>();
    const get = (key: string, startMs: number) => {
      let w = byWindow.get(key);
      if (!w) {
        w = {
          granularity,
          window: key,
          start: new Date(startMs).toISOString(),
          end: new Date(startMs + windowSizeMs(granularity)).toISOString(),
          total: 0,
          events: {},
          topics: {},
          orders: {},
          likes: 0,
          users: { total: 0, byTopic: {}, standardError: HLL_STANDARD_ERROR },
        };
        byWindow.set(key, w);
      }
      return w;
    };
    for (const doc of shards.docs) {
      const d = doc.data();
      const w = get(d.window, (d.start as Timestamp).toMillis());
      w.total += Number(d.total ?? 0);
      w.likes += Number(d.likes ?? 0);
      for (const [topic, types] of Object.entries((d.events ?? {}) as Record<string, Record<string, number>>)) {
        const into = (w.events[topic] ??= {});
        for (const [type, n] of Object.entries(types)) {
          into[type] = (into[type] ?? 0) + Number(n);
          w.topics[topic] = (w.topics[topic] ?? 0) + Number(n);
        }
      }
      for (const [state, n] of Object.entries((d.orders ?? {}) as Record<string, number>)) w.orders[state] = (w.orders[state] ?? 0) + Number(n);
    }
    for (const doc of sketches.docs) {
      const d = doc.data();
      get(d.window, (d.start as Timestamp).toMillis());
      const merged = sketchesOf.get(d.window) ?? new Map<string, HyperLogLog>();
      sketchesOf.set(d.window, merged);
      for (const [topic, bytes] of Object.entries((d.topics ?? {}) as Record<string, Uint8Array>)) {
        const into = merged.get(topic) ?? new HyperLogLog();
        merged.set(topic, into.merge(HyperLogLog.fromBytes(bytes)));
      }
    }
    for (const [key, topics] of sketchesOf) {
      const w = byWindow.get(key)!;
      const all = new HyperLogLog();
      for (const [topic, hll] of topics) {
        w.users.byTopic[topic] = Math.round(hll.estimate());
        all.merge(hll);
      }
      w.users.total = Math.round(all.estimate());
    }
    return [...byWindow.values()].sort((a, b) => a.start.localeCompare(b.start));
  }

  /** The `n` posts with the most net likes in one window: the sum of its likes documents (exact). */
  async topPosts(granularity: Granularity, window: string, n = 10): Promise<PostLikes[]> {
    const snap = await this.layout.likes(granularity, window).get();
    const totals = new Map<string, number>();
    for (const doc of snap.docs) {
      // Summed by post id, not by key: a post's key may differ between documents written before and
      // after the one document-id rule (shared/firestore/ids.ts), and both read back to the same id.
      for (const [key, count] of Object.entries((doc.get(LIKES_POSTS_FIELD) ?? {}) as Record<string, number>)) {
        const postId = postIdOf(key);
        totals.set(postId, (totals.get(postId) ?? 0) + Number(count));
      }
    }
    return [...totals]
      .map(([postId, likes]) => ({ postId, likes }))
      .sort((a, b) => b.likes - a.likes || a.postId.localeCompare(b.postId))
      .slice(0, n);
  }

  /** Key of the window holding `timeMs`. */
  static windowOf(granularity: Granularity, timeMs: number): string {
    return windowKey(granularity, windowStart(granularity, timeMs));
  }
}
