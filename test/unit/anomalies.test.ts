/**
 * Order anomalies as signals, without Firestore: the log's layout and write
 * (shared/firestore/anomalies.ts), the one-line summary, the processor's log line and tally, and the
 * generic /stats section that carries the tally. Firestore itself: test/system/anomalies.test.ts.
 */
import { Writable } from 'node:stream';
import { ANOMALY_KINDS, ANOMALY_LOG_FIELD, logMetricType } from '../../shared/anomalies';
import { createLogger, ServiceStats } from '../../shared/consumer';
import { ANOMALY_TTL_MS, anomalyPaths, anomalyTopics, anomalyWrite, describeAnomalies, type AnomalyRecord, type AnomalyReport } from '../../shared/firestore';
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

describe('log layout', () => {
  const values = { timestamp: (ms: number) => ({ ts: ms }) };

  it('puts every value from an event through the one document-id rule', () => {
    expect(anomalyPaths.entry('a/b')).toBe('anomalyLog/a%2Fb');
  });

  it('writes one log entry per anomaly, keyed by the event id (a redelivery writes the same document), expiring', () => {
    expect(anomalyWrite(record, values)).toEqual({
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
    });
    // No document shared between anomalies: a burst has no hot document to queue on.
    const paths = new Set(Array.from({ length: 400 }, (_, i) => anomalyWrite({ ...record, eventId: `e-${i}` }, values).path));
    expect(paths.size).toBe(400);
  });

  it('counts the topics the detecting service consumes, each once', () => {
    const consumers = {
      a: { topic: 'orders', service: 'processor' },
      b: { topic: 'analytics', service: 'processor' },
      c: { topic: 'orders', service: 'processor' },
      d: { topic: 'clicks', service: 'dashboard' },
    };
    expect(anomalyTopics({ consumers }, 'processor')).toEqual(['analytics', 'orders']);
    expect(anomalyTopics({ consumers }, 'warehouse')).toEqual([]);
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
