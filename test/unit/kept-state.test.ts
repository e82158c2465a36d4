/**
 * State kept up to date in the background (shared/health/kept.ts) and the dashboard's anomalies
 * served from it (services/dashboard/anomalies.ts, with supertest): one refresh at a time, a failed or
 * hung refresh keeps the last value with its age, and a request never waits on a hung read.
 */
import express from 'express';
import request from 'supertest';
import { createLogger } from '../../shared/consumer';
import type { AnomalyReport, ReadAnomaliesOptions } from '../../shared/firestore';
import { KeptState } from '../../shared/health/kept';
import { ANOMALIES_PATH, anomalyRoutes, DEFAULT_ANOMALY_PERIOD_MS, keptAnomaliesRead, KEPT_ANOMALIES_LATEST } from '../../services/dashboard/anomalies';

const log = createLogger({ level: 'silent' });
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A read whose calls each wait for the test to settle them. */
function controlledRead<T>() {
  const calls: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  const read = jest.fn(() => new Promise<T>((resolve, reject) => calls.push({ resolve, reject })));
  return { read, calls };
}

describe('KeptState', () => {
  it('keeps the last value with the time its refresh began, and runs one refresh at a time', async () => {
    const clock = { now: 1_000_000 };
    const { read, calls } = controlledRead<number>();
    const kept = new KeptState({ name: 'n', read, intervalMs: 60_000, now: () => clock.now, log });
    expect(kept.age()).toEqual({ asOf: null, ageSeconds: null });
    kept.start();
    void kept.refresh();
    void kept.refresh();
    expect(read).toHaveBeenCalledTimes(1);
    clock.now += 500;
    calls[0].resolve(42);
    await tick();
    expect(kept.current).toEqual({ value: 42, at: 1_000_000 });
    clock.now += 2000;
    expect(kept.age()).toEqual({ asOf: new Date(1_000_000).toISOString(), ageSeconds: 2.5 });
    kept.stop();
  });

  it('serves the last value, getting older, while a refresh hangs or fails', async () => {
    const clock = { now: 0 };
    const { read, calls } = controlledRead<string>();
    const warn = jest.fn();
    const kept = new KeptState({ name: 'n', read, intervalMs: 1000, now: () => clock.now, log: { warn } });
    kept.start();
    calls[0].resolve('first');
    await tick();
    // The next refresh fails: the value stays, and the failure is logged once.
    void kept.refresh();
    calls[1].reject(new Error('UNAVAILABLE'));
    await tick();
    expect(kept.current?.value).toBe('first');
    expect(warn).toHaveBeenCalledTimes(1);
    // The next one hangs: requests keep getting the value, older each time, and no second refresh starts beside it.
    void kept.refresh();
    clock.now = 10_000;
    expect(kept.age().ageSeconds).toBe(10);
    expect(kept.refreshing).toBe(true);
    expect(read).toHaveBeenCalledTimes(3);
    calls[2].resolve('late');
    await tick();
    expect(kept.current).toEqual({ value: 'late', at: 0 });
    kept.stop();
  });

  it('a request finding the value older than two intervals starts a refresh when none runs', async () => {
    const clock = { now: 0 };
    const { read, calls } = controlledRead<number>();
    const kept = new KeptState({ name: 'n', read, intervalMs: 1000, now: () => clock.now, log });
    kept.start();
    calls[0].resolve(1);
    await tick();
    clock.now = 1500;
    kept.age();
    expect(read).toHaveBeenCalledTimes(1);
    clock.now = 2500; // timers starved: the scheduled refresh has not run
    kept.age();
    expect(read).toHaveBeenCalledTimes(2);
    kept.stop();
  });
});

const REPORT: AnomalyReport = {
  since: '2024-04-30T13:45:00.000Z',
  total: 3,
  counts: { orders: { gap: 3 } },
  latest: [1, 2, 3].map((i) => ({
    topic: 'orders',
    kind: 'gap',
    orderId: `o-${i}`,
    eventId: `e-${i}`,
    type: 'order.paid',
    reason: 'r',
    time: '',
    detectedAt: '',
  })),
};

describe('GET /api/anomalies from kept state', () => {
  const NOW = Date.parse('2024-05-01T13:45:00Z');

  function appWith(read: (o: ReadAnomaliesOptions) => Promise<AnomalyReport>) {
    const clock = { now: NOW };
    const kept = new KeptState({ name: 'anomalies', read: keptAnomaliesRead(read, () => clock.now), intervalMs: 60_000, now: () => clock.now, log });
    const app = express();
    anomalyRoutes(app, { read, kept, log, now: () => clock.now });
    return { app, kept, clock };
  }

  it('answers the default view from the kept read, with its age, and reads other queries on request', async () => {
    const read = jest.fn(async () => REPORT);
    const { app, kept, clock } = appWith(read);
    kept.start();
    await kept.refresh();
    expect(read).toHaveBeenCalledWith({ since: NOW - DEFAULT_ANOMALY_PERIOD_MS, latest: KEPT_ANOMALIES_LATEST });
    clock.now += 3000;
    const res = await request(app).get(`${ANOMALIES_PATH}?latest=2`).expect(200);
    expect(res.body).toMatchObject({ total: 3, asOf: new Date(NOW).toISOString(), at: new Date(NOW).toISOString(), ageSeconds: 3 });
    expect(res.body.latest.map((l: { orderId: string }) => l.orderId)).toEqual(['o-1', 'o-2']);
    expect(read).toHaveBeenCalledTimes(1);
    await request(app).get(`${ANOMALIES_PATH}?since=all&latest=2`).expect(200);
    expect(read).toHaveBeenCalledTimes(2);
    kept.stop();
  });

  it('answers while the next read hangs, from what was kept', async () => {
    const { read, calls } = controlledRead<AnomalyReport>();
    const { app, kept, clock } = appWith(read);
    kept.start();
    calls[0].resolve(REPORT);
    await tick();
    void kept.refresh(); // hangs: never settled
    clock.now += 7000;
    const res = await request(app).get(`${ANOMALIES_PATH}?latest=3`).expect(200);
    expect(res.body).toMatchObject({ total: 3, ageSeconds: 7 });
    expect(read).toHaveBeenCalledTimes(2);
    kept.stop();
  });

  it('answers 503 soon when the first read hangs, without starting another', async () => {
    const { read } = controlledRead<AnomalyReport>();
    const { app, kept } = appWith(read);
    kept.start();
    const res = await request(app).get(ANOMALIES_PATH).expect(503);
    expect(res.body).toEqual({ error: 'could not read the anomalies yet: the first read is under way or failed', asOf: null, ageSeconds: null });
    expect(read).toHaveBeenCalledTimes(1);
    kept.stop();
  });
});
