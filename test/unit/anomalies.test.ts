/**
 * Order anomalies as signals, without Firestore: the counters' layout and writes
 * (shared/firestore/anomalies.ts), the one-line summary, the processor's log line and tally, and the
 * generic /stats section that carries the tally. Firestore itself: test/system/anomalies.test.ts.
 */
import { Writable } from 'node:stream';
import { ANOMALY_KINDS, ANOMALY_LOG_FIELD, logMetricType } from '../../shared/anomalies';
import { createLogger, ServiceStats } from '../../shared/consumer';
import {
  ANOMALY_SHARDS,
  ANOMALY_TTL_MS,
  ANOMALY_WINDOW_MS,
  anomalyPaths,
  anomalyWindow,
  anomalyWrites,
  describeAnomalies,
  shardOf,
  type AnomalyRecord,
  type AnomalyReport,
} from '../../shared/firestore';
import { AnomalyTally, logAnomaly, anomalyRecord } from '../../services/processor/anomalies';
import { applyOrderEvent, type OrderEventInput } from '../../services/processor/orders';

const AT = Date.parse('2024-05-01T13:45:12.345Z');
const record: AnomalyRecord = {
  topic: 'orders',
  consumer: 'processor-orders',
  kind: 'invalid-transition',
  orderId: 'o/1',
  eventId: 'e-1',
  type: 'order.shipped',
  reason: 'shipped before paid',
  time: '2024-05-01T13:45:00.000Z',
  detectedAtMs: AT,
};
const values = { increment: (n: number) => ({ inc: n }), timestamp: (ms: number) => ({ ts: ms }) };

describe('counters and log layout', () => {
  it('windows by the hour, with the dashboard hour key', () => {
    expect(anomalyWindow(AT)).toEqual({ start: Date.parse('2024-05-01T13:00:00Z'), key: '2024-05-01T13' });
    expect(anomalyWindow(Date.parse('2024-05-01T13:00:00Z')).key).toBe('2024-05-01T13');
    expect(ANOMALY_WINDOW_MS).toBe(3600_000);
  });

  it('puts every value from an event through the one document-id rule', () => {
    expect(anomalyPaths.count('2024-05-01T13', 'orders', 3)).toBe('anomalyCounts/2024-05-01T13_orders_3');
    expect(anomalyPaths.entry('a/b')).toBe('anomalyLog/a%2Fb');
  });

  it('writes +1 on the shard of the event id (total and kind, merged) and one log entry, both expiring', () => {
    const [count, entry] = anomalyWrites(record, values);
    const start = Date.parse('2024-05-01T13:00:00Z');
    const shard = shardOf('e-1', ANOMALY_SHARDS);
    expect(count).toEqual({
      path: `anomalyCounts/2024-05-01T13_orders_${shard}`,
      data: {
        topic: 'orders',
        window: '2024-05-01T13',
        start: { ts: start },
        shard,
        total: { inc: 1 },
        kinds: { 'invalid-transition': { inc: 1 } },
        expiresAt: { ts: start + ANOMALY_WINDOW_MS + ANOMALY_TTL_MS },
      },
      merge: true,
    });
    expect(entry).toEqual({
      path: 'anomalyLog/e-1',
      data: {
        topic: 'orders',
        consumer: 'processor-orders',
        kind: 'invalid-transition',
        orderId: 'o/1',
        eventId: 'e-1',
        type: 'order.shipped',
        reason: 'shipped before paid',
        time: '2024-05-01T13:45:00.000Z',
        detectedAt: { ts: AT },
        expiresAt: { ts: AT + ANOMALY_TTL_MS },
      },
      merge: false,
    });
  });

  it('spreads a burst of events over the shards (Firestore takes ~1 write/s per document)', () => {
    const shards = new Set(Array.from({ length: 400 }, (_, i) => anomalyWrites({ ...record, eventId: `e-${i}` }, values)[0].path));
    expect(shards.size).toBe(ANOMALY_SHARDS);
  });
});

describe('describeAnomalies', () => {
  const report: AnomalyReport = {
    since: '2024-05-01T13:00:00.000Z',
    total: 3,
    counts: { orders: { 'invalid-transition': 2, gap: 1 } },
    latest: [
      {
        topic: 'orders',
        kind: 'invalid-transition',
        orderId: 'o-17',
        eventId: 'e',
        type: 'order.shipped',
        reason: 'shipped before paid',
        time: '',
        detectedAt: '',
      },
    ],
  };

  it('says it in one line: counts by topic, kinds sorted, then the newest offender', () => {
    expect(describeAnomalies(report)).toBe(
      'anomalies since 2024-05-01T13:00:00.000Z: 3 (orders: gap 1, invalid-transition 2); latest o-17 (orders invalid-transition: shipped before paid)',
    );
    expect(describeAnomalies({ since: null, total: 0, counts: {}, latest: [] })).toBe('anomalies kept: none');
  });
});

describe("the processor's signal", () => {
  const ev = (type: string, sequence: number): OrderEventInput => ({
    id: `ev-${sequence}`,
    type,
    time: '2024-05-01T13:45:00.000Z',
    data: { orderId: 'o-1', customerId: 'c', sequence, amountCents: 0, currency: 'EUR', itemCount: 1, reason: '', carrier: '' },
  });
  const shippedBeforePaid = applyOrderEvent(applyOrderEvent(undefined, ev('order.created', 1)).projection, ev('order.shipped', 2)).anomaly!;

  it('logs one WARNING line with anomaly: {topic, kind, orderId}, what the log-based metric reads', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    logAnomaly(createLogger({ destination, service: 'processor' }), 'orders', shippedBeforePaid);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({
      severity: 'WARNING',
      [ANOMALY_LOG_FIELD]: { topic: 'orders', kind: 'invalid-transition', orderId: 'o-1' },
      eventId: 'ev-2',
      reason: 'shipped before paid',
      message: 'order anomaly: shipped before paid',
    });
    expect(Object.keys(line[ANOMALY_LOG_FIELD]).sort()).toEqual(['kind', 'orderId', 'topic']);
  });

  it('turns an anomaly into the record the counters take', () => {
    expect(anomalyRecord(shippedBeforePaid, 'orders', 'processor-orders', AT)).toEqual({
      topic: 'orders',
      consumer: 'processor-orders',
      kind: 'invalid-transition',
      orderId: 'o-1',
      eventId: 'ev-2',
      type: 'order.shipped',
      reason: 'shipped before paid',
      time: '2024-05-01T13:45:00.000Z',
      detectedAtMs: AT,
    });
  });

  it('tallies per topic and kind for /stats', () => {
    const tally = new AnomalyTally();
    expect(tally.snapshot()).toEqual({});
    tally.record('orders', 'gap');
    tally.record('orders', 'gap');
    tally.record('orders', 'stale');
    tally.record('returns', 'unknown-order');
    expect(tally.snapshot()).toEqual({ orders: { gap: 2, stale: 1 }, returns: { 'unknown-order': 1 } });
  });

  it('knows every kind the state machine produces, and the metric type Monitoring uses', () => {
    expect([...ANOMALY_KINDS].sort()).toEqual(['gap', 'invalid-transition', 'stale', 'unknown-order']);
    expect(logMetricType('event-mesh/anomalies')).toBe('logging.googleapis.com/user/event-mesh/anomalies');
  });
});

describe('/stats sections (shared/consumer/stats.ts)', () => {
  it('adds what a service reports of its own beside the counters, read at each snapshot', () => {
    const stats = new ServiceStats('svc', ['c']);
    expect(stats.snapshot()).toEqual({ service: 'svc', consumers: { c: { received: 0, done: 0, duplicate: 0, deadLettered: 0, failed: 0 } } });
    let n = 0;
    stats.addSection('things', () => ({ n: ++n }));
    expect(stats.snapshot().sections).toEqual({ things: { n: 1 } });
    expect(stats.snapshot().sections).toEqual({ things: { n: 2 } });
    expect(() => stats.addSection('things', () => 0)).toThrow(/already added/);
  });
});
