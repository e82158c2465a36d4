/** The dashboard's hot key tracker (shared/health/hot-keys.ts): shares, rates, the window, bounded memory. */
import { HotKeyTracker, ORDERING_KEY_BYTES_PER_SECOND } from '../../shared/health/hot-keys';

describe('HotKeyTracker', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('ranks the keys of each topic by events in the window, with share, events/s and bytes/s against the per-key limit', () => {
    const hot = new HotKeyTracker({ windowMs: 60_000, now: clock });
    for (let i = 0; i < 600; i++) hot.record('orders', 'o-hot', 1000);
    for (let i = 0; i < 300; i++) hot.record('orders', `o-${i}`, 1000);
    hot.record('analytics', 'u-1', 10);
    const [analytics, orders] = hot.top(2);
    expect(analytics).toMatchObject({ topic: 'analytics', events: 1, keys: [{ key: 'u-1', events: 1, share: 1 }] });
    expect(orders.topic).toBe('orders');
    expect(orders.events).toBe(900);
    expect(orders.keys).toHaveLength(2);
    expect(orders.keys[0]).toEqual({
      key: 'o-hot',
      events: 600,
      share: 600 / 900,
      perSecond: 10,
      bytesPerSecond: 10_000,
      ofKeyLimit: 10_000 / ORDERING_KEY_BYTES_PER_SECOND,
    });
  });

  it('forgets what slid out of the window', () => {
    const hot = new HotKeyTracker({ windowMs: 60_000, slots: 6, now: clock });
    hot.record('orders', 'old', 1);
    now += 30_000;
    hot.record('orders', 'new', 1);
    expect(hot.top()[0].keys.map((k) => k.key)).toEqual(['new', 'old']);
    now += 40_000; // 'old' is 70 s back, 'new' 40 s
    expect(hot.top()[0]).toMatchObject({ events: 1, keys: [{ key: 'new' }] });
    now += 60_000;
    expect(hot.top()[0]).toMatchObject({ events: 0, keys: [] });
  });

  it('keeps a heavy key among 200,000 distinct ones with 100 counters', () => {
    const hot = new HotKeyTracker({ windowMs: 60_000, slots: 1, capacity: 100, now: clock });
    for (let i = 0; i < 200_000; i++) {
      hot.record('orders', `cold-${i}`, 1);
      if (i % 10 === 0) hot.record('orders', 'hot', 1); // ~9 % of the traffic
    }
    const [orders] = hot.top(1);
    expect(orders.keys[0].key).toBe('hot');
    expect(orders.events).toBe(220_000);
    // Undercounted by at most events / capacity.
    expect(orders.keys[0].events).toBeGreaterThan(20_000 - 220_000 / 100);
  });
});
