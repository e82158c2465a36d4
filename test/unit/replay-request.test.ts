/** A replay request is checked before anything runs; the pacer holds a run to its ceiling. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../shared/errors';
import { describeScope, newReplayId, Pacer, parseReplayRequest, scopeFilter, type PacerClock, type ReplayInput } from '../../shared/replay';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: replay-unit
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId
services:
  processor: { localPort: 18082 }
consumers:
  processor-orders:
    topic: orders
    delivery: pull
    service: processor
    replay: { ceiling: 200/s }
  processor-analytics:
    topic: analytics
    delivery: push
    service: processor
warehouse: { dataset: replay_unit }
`);

const now = new Date('2026-12-04T12:00:00Z');
const base: ReplayInput = {
  consumer: 'processor-orders',
  from: '2026-12-04T10:00:00Z',
  to: '2026-12-04T11:00:00Z',
  owner: 'commerce-oncall',
  intent: 'orders projection bug INC-42',
  operator: 'alice@host',
};
const problem = (input: Partial<ReplayInput>) => {
  try {
    parseReplayRequest(spec, { ...base, ...input }, now);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).format();
  }
  throw new Error('accepted');
};

describe('parseReplayRequest', () => {
  it('takes a bounded request with owner and intent, at the consumer ceiling by default', () => {
    const request = parseReplayRequest(spec, { ...base, keys: 'o1, o2', types: 'order.paid' }, now);
    expect(request).toMatchObject({
      consumer: 'processor-orders',
      scope: { topic: 'orders', from: '2026-12-04T10:00:00.000Z', to: '2026-12-04T11:00:00.000Z', keys: ['o1', 'o2'], types: ['order.paid'] },
      ceilingPerSecond: 200,
      owner: 'commerce-oncall',
      intent: 'orders projection bug INC-42',
      operator: 'alice@host',
      requestedAt: now.toISOString(),
    });
    expect(request.id).toMatch(/^rp-20261204120000-[0-9a-f]{6}$/);
    expect(describeScope(request.scope)).toBe('orders published 2026-12-04T10:00:00.000Z up to 2026-12-04T11:00:00.000Z, keys o1,o2, types order.paid');
    // The default ceiling when the spec names none.
    expect(parseReplayRequest(spec, { ...base, consumer: 'processor-analytics' }, now).ceilingPerSecond).toBe(100);
    expect(parseReplayRequest(spec, { ...base, ceiling: '600/m' }, now).ceilingPerSecond).toBe(10);
  });

  it('refuses a request without owner or intent, or with an unbounded or empty range', () => {
    expect(problem({ owner: undefined })).toBe('--owner: a replay needs an owner: who answers for it');
    expect(problem({ owner: '  ' })).toContain('needs an owner');
    expect(problem({ intent: '' })).toBe('--intent: a replay needs an intent: why it is run, for the audit');
    expect(problem({ from: undefined })).toMatch(/^--from: a replay needs a time range/);
    expect(problem({ to: undefined })).toMatch(/^--to: a replay needs a time range/);
    expect(problem({ from: 'yesterday' })).toContain('--from: "yesterday" is not an RFC 3339 time');
    expect(problem({ to: '2026-12-04T09:00:00Z' })).toContain('the range is empty');
    expect(problem({ to: '2026-12-05T00:00:00Z' })).toContain('is in the future');
  });

  it('refuses scopes the topic cannot have and a ceiling above the spec', () => {
    expect(problem({ consumer: 'nobody' })).toContain('no consumer "nobody"');
    expect(problem({ consumer: 'processor-analytics', keys: 'u1' })).toBe(
      '--keys: topic analytics has no ordering key, so a replay of processor-analytics cannot be scoped by key; scope it by --types and time',
    );
    expect(problem({ keys: 'o1', keyRange: 'a..b' })).toContain('--keys or --key-range, not both');
    expect(problem({ keyRange: 'b..a' })).toContain('is not a key range FIRST..LAST');
    expect(problem({ keyRange: 'nodots' })).toContain('is not a key range');
    expect(problem({ types: 'order.paid,click' })).toBe(
      '--types: click: not an event type of topic orders (order.created, order.paid, order.shipped, order.cancelled)',
    );
    expect(problem({ ceiling: 'fast' })).toContain('is not a rate');
    expect(problem({ ceiling: '0/s' })).toContain('is not a rate');
    expect(problem({ ceiling: '500/s' })).toBe(
      "--ceiling: 500/s is above processor-orders's replay ceiling of 200/s, the most it takes without its real-time traffic missing its SLO; raise consumers.processor-orders.replay.ceiling in the spec if it can take more",
    );
    expect(parseReplayRequest(spec, { ...base, keyRange: 'o-a..o-m' }, now).scope.keyRange).toEqual({ first: 'o-a', last: 'o-m' });
  });

  it('takes a rebuild only of keyed projections, by key, with every type', () => {
    expect(parseReplayRequest(spec, { ...base, keys: 'o1', rebuild: true }, now).rebuild).toBe(true);
    expect(parseReplayRequest(spec, base, now).rebuild).toBeUndefined();
    expect(problem({ rebuild: true })).toBe('--rebuild: a rebuild clears projections per ordering key: name them with --keys or --key-range');
    expect(problem({ rebuild: true, keys: 'o1', types: 'order.paid' })).toBe(
      "--types: a rebuild replays each key's whole history: --types would leave steps out",
    );
    expect(problem({ rebuild: true, consumer: 'processor-analytics' })).toMatch(
      /^--rebuild: processor-analytics cannot be rebuilt: a rebuild clears projections per ordering key, which only the processor's orders projections are/,
    );
  });

  it('gives each replay its own id', () => {
    expect(new Set(Array.from({ length: 50 }, () => newReplayId(now))).size).toBe(50);
  });
});

describe('scopeFilter', () => {
  it('narrows by time, keys, key range and types, and goes on after a checkpoint', () => {
    const scope = { topic: 'orders', from: '2026-12-04T10:00:00.000Z', to: '2026-12-04T11:00:00.000Z', keys: ['o1'], types: ['order.paid'] };
    const { where, params } = scopeFilter(scope, { publishTime: '2026-12-04T10:30:00.123456Z', eventId: 'e9' });
    expect(where).toBe(
      'publish_time >= @from AND publish_time < @to AND ordering_key IN UNNEST(@keys) AND event_type IN UNNEST(@types) AND (publish_time > @afterTime OR (publish_time = @afterTime AND event_id > @afterId))',
    );
    expect(params).toEqual({
      from: new Date(scope.from),
      to: new Date(scope.to),
      keys: ['o1'],
      types: ['order.paid'],
      afterTime: '2026-12-04T10:30:00.123456Z',
      afterId: 'e9',
    });
    expect(scopeFilter({ ...scope, keys: undefined, types: undefined, keyRange: { first: 'a', last: 'b' } }).where).toBe(
      'publish_time >= @from AND publish_time < @to AND ordering_key >= @keyFirst AND ordering_key < @keyLast',
    );
  });
});

describe('Pacer', () => {
  /** A clock that only moves when someone sleeps or work takes time. */
  const fakeClock = () => {
    let t = 0;
    const sleeps: number[] = [];
    const clock: PacerClock & { advance(ms: number): void; sleeps: number[] } = {
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
      advance: (ms) => (t += ms),
      sleeps,
    };
    return clock;
  };

  it('never lets n sends start before n / ceiling seconds', async () => {
    const clock = fakeClock();
    const pacer = new Pacer(50, clock);
    const starts: number[] = [];
    for (let i = 0; i < 200; i++) {
      await pacer.take();
      starts.push(clock.now());
    }
    starts.forEach((t, i) => expect(t).toBeGreaterThanOrEqual((i * 1000) / 50 - 2)); // up to 2 ms early
    expect(starts[199]).toBeCloseTo((199 * 1000) / 50, 6);
  });

  it('does not make up a slow stretch with a burst past the ceiling', async () => {
    const clock = fakeClock();
    const pacer = new Pacer(10, clock);
    await pacer.take();
    clock.advance(5000); // a stall: 50 sends' worth of time passes
    const starts: number[] = [];
    for (let i = 0; i < 100; i++) {
      await pacer.take();
      starts.push(clock.now());
    }
    // Over any second, at most ceiling sends start, the stall not made up with a burst.
    expect(starts[0]).toBe(5000);
    for (let i = 0; i + 10 < starts.length; i++) expect(starts[i + 10] - starts[i]).toBeGreaterThanOrEqual(1000 - 1e-6);
    expect(pacer.taken).toBe(101);
  });

  it('makes up a timer that fired late, so the rate reaches the ceiling', async () => {
    const clock = fakeClock();
    const late = { ...clock, sleep: async (ms: number) => clock.sleep(ms + 1.3) }; // every timer 1.3 ms late
    const pacer = new Pacer(1000, late);
    for (let i = 0; i < 1000; i++) await pacer.take();
    // 1000 sends at 1000/s: the last starts about 1 s after the first, not 1000 late timers later.
    expect(clock.now()).toBeLessThan(1000 + 5);
    expect(clock.now()).toBeGreaterThan(1000 - 5);
  });

  it('stops at once when cancelled', async () => {
    const pacer = new Pacer(1, fakeClock());
    const controller = new AbortController();
    await pacer.take(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(pacer.take(controller.signal)).rejects.toThrow('cancelled');
    expect(() => new Pacer(0)).toThrow(RangeError);
  });
});

describe('mesh replay request', () => {
  it('refuses a request without an owner before connecting to anything', async () => {
    const run = promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/mesh.ts',
        'replay',
        'request',
        '--consumer',
        'processor-orders',
        '--from',
        '2026-12-04T10:00:00Z',
        '--to',
        '2026-12-04T11:00:00Z',
        '--intent',
        'x',
      ],
      { cwd: path.resolve(__dirname, '..', '..'), timeout: 60_000 },
    );
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--owner: a replay needs an owner: who answers for it') });
  }, 60_000);
});
