/**
 * The dashboard aggregator alone against the real Firestore emulator: the write-limit rules it
 * promises (docs/dashboard.md) checked on every commit it sends, and exact counts under a burst
 * with duplicates. The client's batch() is wrapped only to record what each commit writes.
 */
import type { Firestore, WriteBatch } from '@google-cloud/firestore';
import { Aggregator } from '../../services/dashboard/aggregator';
import { DashboardReader } from '../../services/dashboard/reader';
import type { Contribution } from '../../services/dashboard/windows';
import { testFirestore, uniqueProject } from '../support/emulators';
import { countersOf, modelWindows } from '../support/dashboard-model';

interface CommitRecord {
  startedAt: number;
  endedAt: number;
  paths: string[];
}

/** Records the document paths and the start and end time of every commit sent through `db`. */
function recordCommits(db: Firestore): CommitRecord[] {
  const commits: CommitRecord[] = [];
  const batchOf = db.batch.bind(db);
  db.batch = () => {
    const batch = batchOf();
    const paths: string[] = [];
    for (const method of ['create', 'set', 'update'] as const) {
      const original = (batch[method] as (...args: unknown[]) => WriteBatch).bind(batch);
      (batch as unknown as Record<string, unknown>)[method] = (ref: { path: string }, ...rest: unknown[]) => {
        paths.push(ref.path);
        return original(ref, ...rest);
      };
    }
    const commit = batch.commit.bind(batch);
    batch.commit = async () => {
      // Only commits that succeeded wrote anything.
      const record: CommitRecord = { startedAt: Date.now(), endedAt: 0, paths };
      const results = await commit();
      record.endedAt = Date.now();
      commits.push(record);
      return results;
    };
    return batch;
  };
  return commits;
}

describe('dashboard aggregator on the Firestore emulator', () => {
  let db: Firestore;
  let commits: CommitRecord[];

  beforeEach(() => {
    db = testFirestore(uniqueProject('aggregator'));
    commits = recordCommits(db);
  });
  afterEach(() => db.terminate());

  it('counts a burst once, within 500 writes per commit and one write per second per aggregate document', async () => {
    const spacingMs = 1000;
    const aggregator = new Aggregator(db, { shards: 4, docWriteSpacingMs: spacingMs, flushIntervalMs: 50 });
    const time = Date.parse('2026-01-02T03:04:05Z');
    const contributions: Contribution[] = Array.from({ length: 2400 }, (_, i) => ({
      consumer: 'dashboard-analytics',
      eventId: `e-${i}`,
      topic: 'analytics',
      type: i % 3 ? 'click' : 'like.created',
      timeMs: time + (i % 90) * 1000, // two minute windows, one hour
      userId: `u-${i % 700}`,
      ...(i % 3 ? {} : { like: { postId: `p-${i % 5}`, delta: 1 } }),
    }));
    // Every tenth event again, while the first copy waits or after it was counted.
    const again = contributions.filter((_, i) => i % 10 === 0);
    const first = Promise.all(contributions.map((c) => aggregator.add(c)));
    const results = await Promise.all([first, Promise.all(again.map((c) => aggregator.add({ ...c })))]);
    const late = await Promise.all(again.slice(0, 50).map((c) => aggregator.add({ ...c })));
    await aggregator.close();

    expect(results[0].every((r) => r === 'done')).toBe(true);
    expect(results[1].every((r) => r === 'duplicate')).toBe(true);
    expect(late.every((r) => r === 'duplicate')).toBe(true);
    expect(aggregator.stats.counted).toBe(2400);

    const [minute] = [await new DashboardReader(db).windows('minute', time)];
    expect(minute.reduce((n, w) => n + w.total, 0)).toBe(2400);
    expect(minute.reduce((n, w) => n + w.likes, 0)).toBe(800);
    // Likes of 5 hot posts never wait for a post's document: they are summed per shard and bucket.
    const top = await new DashboardReader(db).topPosts('hour', minute[0].window.slice(0, 13), 10);
    expect(top).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4'].map((postId) => ({ postId, likes: 160 })));

    // Every commit within Firestore's limit; aggregate documents spaced by the write spacing.
    expect(commits.length).toBeGreaterThan(1);
    for (const c of commits) expect(c.paths.length).toBeLessThanOrEqual(500);
    const writesOf = new Map<string, number[]>();
    for (const c of commits) for (const p of c.paths) if (!p.includes('/dedup/')) writesOf.set(p, [...(writesOf.get(p) ?? []), c.startedAt]);
    for (const [path, times] of writesOf) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) {
        // The aggregator stamps each attempt in the same tick as it sends it, so only clock
        // granularity is allowed for (a stamp taken when the commit was scheduled once let a retried
        // commit land 833 ms after the one before).
        if (times[i] - times[i - 1] < spacingMs - 2) throw new Error(`${path} written twice within ${times[i] - times[i - 1]} ms`);
      }
    }
    // Commits overlap: one in flight does not hold back the next batch.
    const overlapping = commits.some((a) => commits.some((b) => a !== b && b.startedAt >= a.startedAt && b.startedAt < a.endedAt));
    expect(overlapping).toBe(true);
  }, 60_000);

  it('a second instance counting the same events meanwhile makes them duplicates, not double counts', async () => {
    const a = new Aggregator(db, { writerId: 'a' });
    const b = new Aggregator(db, { writerId: 'b' });
    const time = Date.parse('2026-01-02T05:00:00Z');
    const events: Contribution[] = Array.from({ length: 600 }, (_, i) => ({
      consumer: 'dashboard-orders',
      eventId: `o-${i}`,
      topic: 'orders',
      type: 'order.created',
      timeMs: time,
      orderState: 'created',
    }));
    const [ra, rb] = await Promise.all([Promise.all(events.map((c) => a.add(c))), Promise.all(events.map((c) => b.add({ ...c })))]);
    await Promise.all([a.close(), b.close()]);
    for (let i = 0; i < events.length; i++) expect([ra[i], rb[i]].sort()).toEqual(['done', 'duplicate']);
    const [hour] = await new DashboardReader(db).windows('hour', time);
    expect(hour.orders).toEqual({ created: 600 });
  }, 60_000);

  it('a duplicate republished with a later ce-time leaves no user in the later window (found by mesh parity)', async () => {
    // The duplicate makes its commit fail with ALREADY_EXISTS; the retry commits only the new event.
    // The refused attempt had already put the duplicate's user into the later window's sketch in memory.
    const aggregator = new Aggregator(db, { writerId: 'w', shards: 1 });
    const first = Date.parse('2026-01-02T05:00:10Z');
    const later = Date.parse('2026-01-02T05:01:10Z');
    const event = (eventId: string, userId: string, timeMs: number): Contribution => ({
      consumer: 'dashboard-orders',
      eventId,
      topic: 'orders',
      type: 'order.created',
      timeMs,
      orderState: 'created',
      userId,
    });
    expect(await aggregator.add(event('e-1', 'u-original', first))).toBe('done');
    const results = await Promise.all([aggregator.add(event('e-1', 'u-original', later)), aggregator.add(event('e-2', 'u-new', later))]);
    await aggregator.close();
    expect(results).toEqual(['duplicate', 'done']);
    const minutes = await new DashboardReader(db).windows('minute', first);
    expect(minutes.map((w) => [w.window, w.total, w.users.byTopic.orders])).toEqual([
      ['2026-01-02T05:00', 1, 1],
      ['2026-01-02T05:01', 1, 1],
    ]);
  }, 60_000);
});

/**
 * Issue 18's defect: a commit with no order events wrote `orders: {}` in a merge, and Firestore
 * replaced the window's stored order states with it. Analytics-only, orders-only and mixed commits
 * land on the same window documents (one shard) in a random order; every field of every window must
 * equal what the events say. The seed is printed on failure, so a run can be replayed.
 */
describe('dashboard windows survive any interleaving of commits', () => {
  const seeds = [1, 2, 3];
  it.each(seeds)(
    'seed %i: analytics-only, orders-only and mixed commits into the same windows keep every field',
    async (seed) => {
      const db = testFirestore(uniqueProject('interleave'));
      try {
        const random = mulberry32(seed);
        const base = Date.parse('2026-03-04T05:06:00Z');
        const states = ['created', 'paid', 'shipped', 'cancelled'];
        const analyticsTypes = ['click', 'view', 'like.created', 'like.removed'];
        const make = (i: number, kind: 'analytics' | 'orders'): Contribution => {
          const timeMs = base + Math.floor(random() * 3) * 60_000 + Math.floor(random() * 60_000); // three minutes, one hour
          if (kind === 'orders') {
            const state = states[Math.floor(random() * states.length)];
            return {
              consumer: 'dashboard-orders',
              eventId: `o-${i}`,
              topic: 'orders',
              type: `order.${state}`,
              timeMs,
              orderState: state,
              userId: `c-${i % 7}`,
            };
          }
          const type = analyticsTypes[Math.floor(random() * analyticsTypes.length)];
          const like = type.startsWith('like.') ? { like: { postId: `p-${i % 3}`, delta: type === 'like.created' ? 1 : -1 } } : {};
          return { consumer: 'dashboard-analytics', eventId: `a-${i}`, topic: 'analytics', type, timeMs, userId: `u-${i % 11}`, ...like };
        };
        // One shard and no write spacing: every commit hits the same window documents.
        const aggregator = new Aggregator(db, { shards: 1, docWriteSpacingMs: 0, flushIntervalMs: 0 });
        const all: Contribution[] = [];
        for (let round = 0; round < 12; round++) {
          const kind = random() < 0.4 ? 'analytics' : random() < 0.7 ? 'orders' : 'mixed';
          const size = 1 + Math.floor(random() * (random() < 0.2 ? 300 : 8));
          const batch = Array.from({ length: size }, (_, j) => {
            const i = all.length + j;
            return make(i, kind === 'mixed' ? (random() < 0.5 ? 'analytics' : 'orders') : kind);
          });
          all.push(...batch);
          // Each round is its own commit(s): the adds resolve only after their commit.
          expect(await Promise.all(batch.map((c) => aggregator.add(c)))).toEqual(batch.map(() => 'done'));
        }
        await aggregator.close();

        const reader = new DashboardReader(db);
        for (const g of ['minute', 'hour'] as const) {
          const windows = await reader.windows(g, base);
          const want = countersOf(modelWindows(all, g));
          const got = countersOf(windows.map((w) => [w.window, w] as const));
          expect({ seed, granularity: g, windows: got }).toEqual({ seed, granularity: g, windows: want });
          for (const w of windows) {
            const topicTotals = Object.fromEntries(Object.entries(w.events).map(([t, types]) => [t, Object.values(types).reduce((a, b) => a + b, 0)]));
            expect(w.topics).toEqual(topicTotals);
            // Unique users: HyperLogLog within 3 standard errors of the truth (11 analytics + 7 order users at most).
            const users = new Set(all.filter((c) => DashboardReader.windowOf(g, c.timeMs) === w.window).map((c) => `${c.topic}|${c.userId}`));
            expect(Math.abs(w.users.total - users.size)).toBeLessThanOrEqual(Math.max(1, 3 * w.users.standardError * users.size));
          }
        }
      } finally {
        await db.terminate();
      }
    },
    60_000,
  );
});

/** A small seeded generator (mulberry32), so an interleaving can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
