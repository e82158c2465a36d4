/** Pure parts of the dashboard: the HyperLogLog sketch, windows and contributions, the runtime's AckLog, settings from the environment. */
import { AckLog } from '../../shared/consumer/stats';
import { PoisonError, type DecodedEvent } from '../../shared/consumer';
import { HLL_REGISTERS, HLL_STANDARD_ERROR, HyperLogLog } from '../../services/dashboard/hll';
import { dashboardOptionsFromEnv, WITHOUT_WRITE_LIMITS } from '../../services/dashboard/app';
import { bucketOf, postIdOf, postKey } from '../../services/dashboard/layout';
import { docId } from '../../shared/firestore';
import { contributionOf, windowKey, windowStart } from '../../services/dashboard/windows';

const decoded = (type: string, data: Record<string, unknown>, time = '2024-05-01T12:34:56.789Z'): DecodedEvent => ({
  event: { id: 'e-1', type, source: '//t', time, schemaVersion: 'v2', specversion: '1.0', datacontenttype: 'application/json', data },
  readAs: 'v2',
  messageId: 'm-1',
  attributes: {},
});

describe('HyperLogLog', () => {
  it.each([10, 1000, 20000, 200000])('estimates %i distinct users within 4 standard errors', (n) => {
    const hll = new HyperLogLog();
    for (let i = 0; i < n; i++) hll.add(`user-${i}`);
    expect(Math.abs(hll.estimate() - n) / n).toBeLessThan(4 * HLL_STANDARD_ERROR);
  });

  it('ignores repeats and merges idempotently (max of registers)', () => {
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 3000; i++) a.add(`u${i}`);
    for (let i = 2000; i < 5000; i++) b.add(`u${i}`);
    const before = a.estimate();
    for (let i = 0; i < 3000; i++) expect(a.add(`u${i}`)).toBe(false);
    expect(a.estimate()).toBe(before);
    const union = new HyperLogLog().merge(a).merge(b);
    expect(new HyperLogLog().merge(union).merge(a).merge(b).estimate()).toBe(union.estimate());
    expect(Math.abs(union.estimate() - 5000) / 5000).toBeLessThan(4 * HLL_STANDARD_ERROR);
  });

  it('round-trips through the sparse and the dense encodings', () => {
    const small = new HyperLogLog();
    for (let i = 0; i < 50; i++) small.add(`s${i}`);
    const sparse = small.toBytes();
    expect(sparse.length).toBeLessThan(200);
    expect(HyperLogLog.fromBytes(sparse).registers).toEqual(small.registers);
    const big = new HyperLogLog();
    for (let i = 0; i < 50000; i++) big.add(`b${i}`);
    const dense = big.toBytes();
    expect(dense.length).toBe(HLL_REGISTERS + 1);
    expect(HyperLogLog.fromBytes(dense).registers).toEqual(big.registers);
    expect(() => HyperLogLog.fromBytes(Buffer.from([9, 9]))).toThrow(RangeError);
  });
});

describe('windows and contributions', () => {
  it('puts an event in its minute and hour by event time', () => {
    const t = Date.parse('2024-05-01T12:34:56.789Z');
    expect(windowKey('minute', windowStart('minute', t))).toBe('2024-05-01T12:34');
    expect(windowKey('hour', windowStart('hour', t))).toBe('2024-05-01T12');
  });

  it('reads users, order states and likes', () => {
    expect(contributionOf('c', 'orders', decoded('order.paid', { orderId: 'o', customerId: 'cust' }))).toMatchObject({
      topic: 'orders',
      type: 'order.paid',
      userId: 'cust',
      orderState: 'paid',
      eventId: 'e-1',
    });
    expect(contributionOf('c', 'analytics', decoded('like.removed', { userId: 'u', postId: 'p' })).like).toEqual({ postId: 'p', delta: -1 });
    expect(contributionOf('c', 'analytics', decoded('click', { userId: '' })).userId).toBeUndefined();
  });

  it('makes a like without a post, or a bad time, poison', () => {
    expect(() => contributionOf('c', 'analytics', decoded('like.created', { userId: 'u', postId: '' }))).toThrow(PoisonError);
    expect(() => contributionOf('c', 'analytics', decoded('click', { userId: 'u' }, 'yesterday'))).toThrow(PoisonError);
  });

  it('encodes any id Firestore cannot take as it is (the one rule, shared/firestore/ids.ts), and refuses the impossible ones', () => {
    expect(docId('a/b c', 'x')).toBe('a%2Fb%20c');
    expect(docId('..', 'x')).toBe('%2E%2E');
    expect(docId('__x__', 'x')).toBe('%5F_x__');
    expect(() => docId('', 'x')).toThrow(PoisonError);
  });
});

describe('AckLog (GET /stats/acks)', () => {
  it('serves the same ids to several readers by cursor', () => {
    const log = new AckLog(100);
    for (let i = 0; i < 10; i++) log.record(`m${i}`);
    const a = log.after(0);
    expect(a).toEqual({ ids: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'], next: 10, missed: 0 });
    expect(log.after(4, 3)).toEqual({ ids: ['m4', 'm5', 'm6'], next: 7, missed: 0 });
    log.record('m10');
    expect(log.after(a.next)).toEqual({ ids: ['m10'], next: 11, missed: 0 });
    expect(log.after(11)).toEqual({ ids: [], next: 11, missed: 0 });
  });

  it('reports what a slow reader missed once the ring wrapped', () => {
    const log = new AckLog(5);
    for (let i = 0; i < 12; i++) log.record(`m${i}`);
    expect(log.after(3)).toEqual({ ids: ['m7', 'm8', 'm9', 'm10', 'm11'], next: 12, missed: 4 });
    expect(log.after(99).next).toBe(12);
  });
});

describe('dashboard settings from the environment', () => {
  it('drops the per-document write limits on the Firestore emulator only, unless told otherwise', () => {
    expect(dashboardOptionsFromEnv({}).aggregator).toEqual({});
    expect(dashboardOptionsFromEnv({ FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086' }).aggregator).toEqual(WITHOUT_WRITE_LIMITS);
    expect(dashboardOptionsFromEnv({ FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086', MESH_DASHBOARD_WRITE_LIMITS: 'firestore' }).aggregator).toEqual({});
    expect(dashboardOptionsFromEnv({ MESH_DASHBOARD_WRITE_LIMITS: 'off' }).aggregator).toEqual(WITHOUT_WRITE_LIMITS);
    expect(() => dashboardOptionsFromEnv({ MESH_DASHBOARD_WRITE_LIMITS: 'none' })).toThrow(/must be firestore or off/);
  });

  it('measures health locally on the emulators and with Cloud Monitoring otherwise', () => {
    expect(dashboardOptionsFromEnv({}).health).toBe('cloud-monitoring');
    expect(dashboardOptionsFromEnv({ PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' }).health).toBe('local');
    expect(dashboardOptionsFromEnv({ PUBSUB_EMULATOR_HOST: '127.0.0.1:8085', MESH_HEALTH: 'off' }).health).toBe(false);
    expect(() => dashboardOptionsFromEnv({ MESH_HEALTH: 'sometimes' })).toThrow(/MESH_HEALTH/);
  });
});

describe('likes buckets', () => {
  it('puts a post in the same bucket in every process, spread evenly, under a reversible key', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[bucketOf(`post-${i}`, 4)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(bucketOf('post-42', 4)).toBe(bucketOf('post-42', 4));
    expect(postIdOf(postKey('a.b/c d'))).toBe('a.b/c d');
    expect(postKey('a.b')).not.toContain('/');
    expect(postIdOf(postKey('__x__'))).toBe('__x__');
    expect(postKey('__x__')).not.toMatch(/^__.*__$/);
    expect(() => postKey('')).toThrow(/cannot be a Firestore document id/);
  });
});
