/**
 * The buffer policy in consumer health: judge() ranks buffer-at-risk over paused over breached over
 * dead letters, and the dashboard's wrapper adds who paused what (from the consumer controls) to
 * every reading, serving the health without it when the controls cannot be read.
 */
import { judge, type ConsumerHealth, type HealthSource } from '../../shared/health';
import type { ConsumerControl } from '../../shared/operations/controls';
import { BUFFER_WARN_RATIO } from '../../shared/spec';
import { withPausedControls } from '../../services/dashboard/health';

const WEEK = 7 * 86400;

const health = (over: Partial<Omit<ConsumerHealth, 'breached' | 'bufferAtRisk' | 'state'>> = {}) =>
  judge({
    consumer: 'processor-orders',
    topic: 'orders',
    backlog: 0,
    oldestUnackedSeconds: null,
    deadLettered: 0,
    slo: { oldestUnackedSeconds: 60, backlog: 100 },
    retentionSeconds: WEEK,
    source: 'local',
    ...over,
  });

const PAUSED = { since: '2024-05-01T10:00:00.000Z', owner: 'orders-oncall', intent: 'orders DB maintenance', operationId: 'op-1' };

const control = (consumer: string): ConsumerControl => ({ consumer, paused: true, operator: 'alice', ...PAUSED });

describe('judge', () => {
  it('ranks buffer at risk, then paused, then breached, then dead letters', () => {
    expect(health()).toMatchObject({ state: 'ok', breached: false, bufferAtRisk: false });
    expect(health({ deadLettered: 1 }).state).toBe('dead-letters');
    expect(health({ deadLettered: 1, backlog: 101 })).toMatchObject({ state: 'breached', breached: true });
    // Paused: its lag is expected, so not red; breached is still computed (an SLO alert may fire).
    expect(health({ backlog: 500, oldestUnackedSeconds: 3600, deadLettered: 1, paused: PAUSED })).toMatchObject({
      state: 'paused',
      breached: true,
      bufferAtRisk: false,
      paused: PAUSED,
    });
    expect(health({ backlog: 500, oldestUnackedSeconds: 0.9 * WEEK, paused: PAUSED })).toMatchObject({ state: 'buffer-at-risk', bufferAtRisk: true });
    // A lagging consumer that is not paused is at risk as well.
    expect(health({ backlog: 5, oldestUnackedSeconds: 0.9 * WEEK })).toMatchObject({ state: 'buffer-at-risk', breached: true });
  });

  it('warns from exactly BUFFER_WARN_RATIO of the retention, and never on an empty backlog', () => {
    const at = BUFFER_WARN_RATIO * WEEK;
    expect(health({ oldestUnackedSeconds: at - 1 }).bufferAtRisk).toBe(false);
    expect(health({ oldestUnackedSeconds: at }).bufferAtRisk).toBe(true);
    expect(health({ retentionSeconds: 3600, oldestUnackedSeconds: 2880 }).bufferAtRisk).toBe(true);
    expect(health({ retentionSeconds: 3600, oldestUnackedSeconds: null }).bufferAtRisk).toBe(false);
  });

  it('judges a judged reading again, with or without a pause', () => {
    const paused = judge({ ...health({ backlog: 3, oldestUnackedSeconds: 10 }), paused: PAUSED });
    expect(paused.state).toBe('paused');
    const { paused: _gone, ...resumed } = paused;
    expect(judge(resumed)).toMatchObject({ state: 'ok', breached: false });
  });
});

describe('withPausedControls', () => {
  const fakeSource = (readings: () => ConsumerHealth[]) => {
    const source = { read: jest.fn(async () => readings()), close: jest.fn(async () => undefined) } satisfies HealthSource;
    return source;
  };
  const log = () => ({ warn: jest.fn() });

  it("adds each paused consumer's control and judges it again; the others stay as read", async () => {
    const source = fakeSource(() => [health({ backlog: 200, oldestUnackedSeconds: 120 }), health({ consumer: 'dashboard-orders', deadLettered: 2 })]);
    const wrapped = withPausedControls(source, async () => ({ 'processor-orders': control('processor-orders') }));
    const [orders, dashboard] = await wrapped.read();
    expect(orders).toMatchObject({ consumer: 'processor-orders', state: 'paused', breached: true, paused: PAUSED });
    // Only what the page and status need: not the operator, not the push configs.
    expect(Object.keys(orders.paused!).sort()).toEqual(['intent', 'operationId', 'owner', 'since']);
    expect(dashboard).toMatchObject({ consumer: 'dashboard-orders', state: 'dead-letters' });
    expect(dashboard.paused).toBeUndefined();
    await wrapped.close();
    expect(source.close).toHaveBeenCalledTimes(1);
  });

  it('drops a pause the source reported once the control says delivering again', async () => {
    const source = fakeSource(() => [judge({ ...health({ backlog: 3 }), paused: PAUSED })]);
    const [h] = await withPausedControls(source, async () => ({})).read();
    expect(h.paused).toBeUndefined();
    expect(h.state).toBe('ok');
  });

  it('serves the health without pause information when the controls cannot be read, logging the first failure of a run', async () => {
    const source = fakeSource(() => [health({ backlog: 200 })]);
    const logger = log();
    let fail = true;
    const reader = jest.fn(async () => {
      if (fail) throw new Error('firestore unavailable');
      return { 'processor-orders': control('processor-orders') };
    });
    const wrapped = withPausedControls(source, reader, { log: logger });
    for (let i = 0; i < 3; i++) expect((await wrapped.read())[0]).toMatchObject({ state: 'breached', backlog: 200 });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toMatchObject({ err: expect.objectContaining({ message: 'firestore unavailable' }) });
    fail = false;
    expect((await wrapped.read())[0].state).toBe('paused');
    // A new run of failures is logged again.
    fail = true;
    await wrapped.read();
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });

  it('does not wait on a control read that hangs', async () => {
    const logger = log();
    const wrapped = withPausedControls(
      fakeSource(() => [health()]),
      () => new Promise(() => undefined),
      { log: logger, timeoutMs: 50 },
    );
    expect((await wrapped.read())[0].state).toBe('ok');
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('fails the reading when the health itself fails (HealthMonitor logs it)', async () => {
    const source: HealthSource = { read: async () => Promise.reject(new Error('monitoring down')), close: async () => undefined };
    await expect(withPausedControls(source, async () => ({})).read()).rejects.toThrow('monitoring down');
  });
});
