/**
 * The dashboard's GET /api/anomalies (services/dashboard/anomalies.ts) with supertest, over a stub of
 * the shared reader: the query it asks for, the defaults, bad input, the shared cache, a failed read.
 */
import express from 'express';
import request from 'supertest';
import { createLogger } from '../../shared/consumer';
import type { AnomalyReport, ReadAnomaliesOptions } from '../../shared/firestore';
import { ANOMALIES_PATH, anomalyRoutes, DEFAULT_ANOMALY_PERIOD_MS } from '../../services/dashboard/anomalies';

const NOW = Date.parse('2024-05-01T13:45:00Z');
const REPORT: AnomalyReport = {
  since: '2024-04-30T13:00:00.000Z',
  total: 2,
  counts: { orders: { 'invalid-transition': 1, gap: 1 } },
  latest: [
    {
      topic: 'orders',
      kind: 'gap',
      orderId: 'o-2',
      eventId: 'e-2',
      type: 'order.paid',
      reason: 'sequence 3 after 1: 1 event(s) missing',
      time: '2024-05-01T13:44:00.000Z',
      detectedAt: '2024-05-01T13:44:01.000Z',
    },
  ],
};

function appWith(read: (o: ReadAnomaliesOptions) => Promise<AnomalyReport>, clock = { now: NOW }) {
  const app = express();
  anomalyRoutes(app, { read, log: createLogger({ level: 'silent' }), now: () => clock.now, cacheMs: 2000 });
  return app;
}

it('answers the counts and latest offenders of the last 24 hours, with every kind for columns', async () => {
  const read = jest.fn(async () => REPORT);
  const res = await request(appWith(read)).get(ANOMALIES_PATH).expect(200);
  expect(read).toHaveBeenCalledWith({ since: NOW - DEFAULT_ANOMALY_PERIOD_MS, latest: 10 });
  expect(res.body).toEqual({ at: new Date(NOW).toISOString(), kinds: ['gap', 'stale', 'invalid-transition', 'unknown-order'], ...REPORT });
});

it('passes `since` and `latest` through; since=all reads everything kept', async () => {
  const read = jest.fn(async () => REPORT);
  const app = appWith(read);
  await request(app).get(`${ANOMALIES_PATH}?since=2024-05-01T00:00:00Z&latest=3`).expect(200);
  expect(read).toHaveBeenLastCalledWith({ since: Date.parse('2024-05-01T00:00:00Z'), latest: 3 });
  await request(app).get(`${ANOMALIES_PATH}?since=all&latest=0`).expect(200);
  expect(read).toHaveBeenLastCalledWith({ since: undefined, latest: 0 });
});

it('refuses a bad since or latest with 400, without reading', async () => {
  const read = jest.fn(async () => REPORT);
  const app = appWith(read);
  expect((await request(app).get(`${ANOMALIES_PATH}?since=yesterday`).expect(400)).body.error).toMatch(/since must be an ISO time or "all"/);
  for (const latest of ['-1', '101', '2.5', 'x'])
    expect((await request(app).get(`${ANOMALIES_PATH}?latest=${latest}`).expect(400)).body.error).toMatch(/latest/);
  expect(read).not.toHaveBeenCalled();
});

it('serves every viewer of the same query from one read for cacheMs', async () => {
  const clock = { now: NOW };
  const read = jest.fn(async () => REPORT);
  const app = appWith(read, clock);
  await Promise.all([request(app).get(ANOMALIES_PATH), request(app).get(ANOMALIES_PATH), request(app).get(ANOMALIES_PATH)]);
  expect(read).toHaveBeenCalledTimes(1);
  await request(app).get(`${ANOMALIES_PATH}?latest=5`).expect(200);
  expect(read).toHaveBeenCalledTimes(2);
  clock.now += 2000;
  await request(app).get(ANOMALIES_PATH).expect(200);
  expect(read).toHaveBeenCalledTimes(3);
});

it('answers 503 when Firestore fails, and reads again on the next request', async () => {
  const read = jest.fn<Promise<AnomalyReport>, [ReadAnomaliesOptions]>().mockRejectedValueOnce(new Error('UNAVAILABLE')).mockResolvedValue(REPORT);
  const app = appWith(read);
  expect((await request(app).get(ANOMALIES_PATH).expect(503)).body.error).toBe('could not read the anomalies: UNAVAILABLE');
  expect((await request(app).get(ANOMALIES_PATH).expect(200)).body.total).toBe(2);
  expect(read).toHaveBeenCalledTimes(2);
});
