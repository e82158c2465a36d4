/**
 * The canary's rules without an emulator: which side takes a delivery (shared/canary/runtime.ts
 * admit), the verdict (judge.ts), the mergeable latency histogram (side-stats.ts) and the canary
 * subscription's filter (lifecycle.ts). The Firestore the runtime listens to is a stand-in that
 * hands it a control; test/system/canary.test.ts runs all of it on the real emulators.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { CanaryControl, SideReport } from '../../shared/canary/control';
import { judge } from '../../shared/canary/judge';
import { canarySubscriptionFilter } from '../../shared/canary/lifecycle';
import { bucketAttribute, bucketOf, BUCKET_ATTRIBUTE } from '../../shared/canary/routing';
import { CanaryRuntime, type CanaryRole } from '../../shared/canary/runtime';
import { LatencyHistogram, SideStats } from '../../shared/canary/side-stats';
import type { IncomingMessage } from '../../shared/envelope';

const SINCE = Date.parse('2026-12-05T10:00:00Z');
const control = (over: Partial<CanaryControl> = {}): CanaryControl => ({
  consumer: 'orders-c',
  canaryId: 'op-1',
  state: 'running',
  share: 20,
  since: new Date(SINCE).toISOString(),
  build: 'b',
  policy: { errorMargin: 0.05, minEvents: 50 },
  owner: 'o',
  intent: 'i',
  operator: 'x',
  ...over,
});

/** A Firestore whose canary document is `current`, and which accepts reports. */
function fakeDb(current: () => CanaryControl | undefined) {
  const listeners: ((snap: unknown) => void)[] = [];
  const snap = () => ({ exists: current() !== undefined, data: () => current() });
  const db = {
    doc: () => ({
      onSnapshot: (next: (snap: unknown) => void) => {
        listeners.push(next);
        next(snap());
        return () => undefined;
      },
      collection: () => ({ doc: () => ({ set: async () => undefined }) }),
    }),
  } as unknown as Firestore;
  return { db, changed: () => listeners.forEach((l) => l(snap())) };
}

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function runtime(role: CanaryRole, current: () => CanaryControl | undefined, onEnded?: () => void) {
  const { db, changed } = fakeDb(current);
  const r = new CanaryRuntime({ db, log, role, instance: 'i1', judgeEveryMs: 0, reportEveryMs: 60_000, onEnded });
  await r.start(['orders-c']);
  return { r, changed };
}

/** A key in the canary's buckets of a 20 % canary, and one outside. */
const canaryKey = Array.from({ length: 1000 }, (_, i) => `k${i}`).find((k) => bucketOf(k) < 20)!;
const stableKey = Array.from({ length: 1000 }, (_, i) => `k${i}`).find((k) => bucketOf(k) >= 20)!;
const message = (key: string | undefined, publishedAt: number): IncomingMessage => ({
  data: Buffer.from('{}'),
  attributes: key ? bucketAttribute('e', key) : {},
  messageId: `m-${key}-${publishedAt}`,
  publishTime: new Date(publishedAt),
  orderingKey: key,
});

describe('which side takes a delivery', () => {
  afterEach(() => jest.useRealTimers());

  it('the stable side skips only the canary buckets published from `since`, on its own subscription', async () => {
    const { r } = await runtime({ kind: 'stable' }, () => control());
    const after = SINCE + 1000;
    expect(r.admit('orders-c', message(canaryKey, after), 'projects/p/subscriptions/orders-c').kind).toBe('skip');
    expect(r.admit('orders-c', message(stableKey, after), 'projects/p/subscriptions/orders-c').kind).toBe('handle');
    // Published before the canary subscription could hold it: the stable side's.
    expect(r.admit('orders-c', message(canaryKey, SINCE - 1), 'orders-c').kind).toBe('handle');
    // No bucket (a raw-client producer): stable.
    expect(r.admit('orders-c', message(undefined, after), 'orders-c').kind).toBe('handle');
    // Redrives and replays reached no canary.
    expect(r.admit('orders-c', message(canaryKey, after), 'projects/p/subscriptions/orders-c-redrive').kind).toBe('handle');
    await r.close();
  });

  it('the canary side takes exactly what the stable side skips, and holds everything once its canary is not running', async () => {
    let current: CanaryControl | undefined = control();
    const ended = jest.fn();
    const { r, changed } = await runtime({ kind: 'canary', consumer: 'orders-c' }, () => current, ended);
    const after = SINCE + 1000;
    expect(r.admit('orders-c', message(canaryKey, after), 'orders-c-canary').kind).toBe('handle');
    expect(r.admit('orders-c', message(stableKey, after), 'orders-c-canary').kind).toBe('skip');
    expect(r.admit('orders-c', message(canaryKey, SINCE - 1), 'orders-c-canary').kind).toBe('skip');
    current = control({ state: 'aborted', ended: { at: new Date(SINCE + 60_000).toISOString(), by: 'threshold', reason: 'r' } });
    changed();
    expect(ended).toHaveBeenCalled();
    // What the ended canary left is held for the move; after its end, and outside its buckets, is the stable side's.
    expect(r.admit('orders-c', message(canaryKey, after), 'orders-c-canary').kind).toBe('hold');
    expect(r.admit('orders-c', message(canaryKey, SINCE + 61_000), 'orders-c-canary').kind).toBe('skip');
    expect(r.admit('orders-c', message(stableKey, after), 'orders-c-canary').kind).toBe('skip');
    await r.close();
  });

  it('a canary instance with no canary acks its subscription empty, and holds everything before its first reading', async () => {
    const { r } = await runtime({ kind: 'canary', consumer: 'orders-c' }, () => undefined);
    expect(r.admit('orders-c', message(canaryKey, SINCE + 1), 'orders-c-canary').kind).toBe('skip');
    await r.close();
    const unread = new CanaryRuntime({ db: {} as Firestore, log, role: { kind: 'canary', consumer: 'orders-c' }, instance: 'i2' });
    expect(unread.admit('orders-c', message(canaryKey, SINCE + 1), 'orders-c-canary').kind).toBe('hold');
  });

  it('every message has exactly one side while a canary runs', async () => {
    const stable = (await runtime({ kind: 'stable' }, () => control())).r;
    const canary = (await runtime({ kind: 'canary', consumer: 'orders-c' }, () => control())).r;
    for (let i = 0; i < 500; i++) {
      const m = message(`key-${i}`, SINCE + i);
      const sides = [stable.admit('orders-c', m, 'orders-c').kind, canary.admit('orders-c', m, 'orders-c-canary').kind];
      expect(sides.sort()).toEqual(['handle', 'skip']);
    }
    await Promise.all([stable.close(), canary.close()]);
  });

  it('gate() acks a skipped delivery without running the handler and records the handled ones', async () => {
    const { r } = await runtime({ kind: 'stable' }, () => control());
    const pipeline = jest.fn(async () => 'retry' as const);
    const acked = { record: jest.fn() };
    const gated = r.gate('orders-c', pipeline, acked as never);
    expect(await gated(message(canaryKey, SINCE + 1), 'orders-c')).toBe('duplicate');
    expect(pipeline).not.toHaveBeenCalled();
    expect(acked.record).toHaveBeenCalledTimes(1);
    expect(await gated(message(stableKey, SINCE + 1), 'orders-c')).toBe('retry');
    expect(r.snapshot()['orders-c']).toMatchObject({ canaryId: 'op-1', side: 'stable', handled: 1, failed: 1 });
    await r.close();
  });
});

describe('the verdict', () => {
  const report = (side: 'canary' | 'stable', handled: number, failed: number, deadLettered = 0): SideReport => ({
    canaryId: 'op-1',
    side,
    instance: `${side}-${handled}`,
    counts: { handled, succeeded: handled - failed - deadLettered, failed, deadLettered },
    latency: new LatencyHistogram().toJSON(),
    updatedAt: '',
    stopped: false,
  });
  const policy = { errorMargin: 0.05, minEvents: 50 };

  it('waits for minEvents, then aborts only past the margin over the stable rate', () => {
    expect(judge([report('canary', 49, 49), report('stable', 100, 0)], policy).decision).toBe('wait');
    expect(judge([report('canary', 100, 50), report('stable', 49, 0)], policy)).toMatchObject({
      decision: 'wait',
      reason: expect.stringMatching(/stable side handled 49 of the 50/),
    });
    expect(judge([report('canary', 100, 5), report('stable', 100, 0)], policy).decision).toBe('healthy'); // 5 points: not past
    expect(judge([report('canary', 100, 6), report('stable', 100, 0)], policy).decision).toBe('abort');
    // A stable side failing as much (its dependency is down) is no reason to blame the canary.
    expect(judge([report('canary', 100, 30), report('stable', 1000, 280)], policy).decision).toBe('healthy');
    // Dead letters count as errors; the reports of several instances add up.
    const v = judge([report('canary', 40, 0, 10), report('canary', 40, 0, 0), report('stable', 100, 0)], policy);
    expect(v).toMatchObject({ decision: 'abort', canary: { instances: 2, counts: { handled: 80, deadLettered: 10 } } });
  });
});

describe('LatencyHistogram', () => {
  it('answers bucket bounds for quantiles and merges by adding', () => {
    const a = new SideStats();
    for (let i = 0; i < 98; i++) a.record('done', 3);
    a.record('done', 700);
    a.record('dead-lettered', 70_000);
    expect(a.latency.quantile(0.5)).toBe(5);
    expect(a.latency.quantile(0.99)).toBe(1000);
    expect(a.latency.quantile(1)).toBe(Infinity);
    expect(a.counts).toEqual({ handled: 100, succeeded: 99, failed: 0, deadLettered: 1 });
    const merged = a.latency.add(new LatencyHistogram(a.latency.toJSON()));
    expect(merged.total).toBe(200);
    expect(merged.quantile(0.5)).toBe(5);
    expect(new LatencyHistogram().quantile(0.5)).toBeUndefined();
  });
});

describe('the canary subscription filter', () => {
  it('is the buckets, ANDed with the consumer filter, within 256 bytes', () => {
    expect(canarySubscriptionFilter({}, 20)).toBe(`hasPrefix(attributes.${BUCKET_ATTRIBUTE}, "0") OR hasPrefix(attributes.${BUCKET_ATTRIBUTE}, "1")`);
    expect(canarySubscriptionFilter({ filter: 'attributes.region = "eu"' }, 10)).toBe(
      `(attributes.region = "eu") AND (hasPrefix(attributes.${BUCKET_ATTRIBUTE}, "0"))`,
    );
    expect(() => canarySubscriptionFilter({ filter: `attributes.x = "${'y'.repeat(120)}"` }, 7)).toThrow(/past Pub\/Sub's 256/);
  });
});
