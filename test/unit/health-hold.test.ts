/**
 * A consumer's dead-letter hold as the local health monitor keeps it (shared/health/hold-ledger.ts),
 * the half-topic-retention flag (judge), and the lines `mesh status` prints for both and for hot keys.
 */
import { HoldLedger } from '../../shared/health/hold-ledger';
import { judge } from '../../shared/health/types';
import { deadLetterLines, hotKeyLines, retryLines, type ConsumerStatus } from '../../tools/commands/status';

const T0 = Date.parse('2026-12-05T12:00:00Z');
const minutes = (n: number) => T0 + n * 60_000;

describe('HoldLedger', () => {
  it('holds what was dead-lettered, with its reason; a redrive takes its event, a purge its message ids', () => {
    const hold = new HoldLedger();
    hold.deadLettered('h1', { reason: 'schema', 'ce-id': 'e1' }, minutes(0));
    hold.deadLettered('h2', { CloudPubSubDeadLetterSourceDeliveryCount: '5', 'ce-id': 'e2' }, minutes(10));
    hold.deadLettered('h3', { reason: 'schema', 'ce-id': 'e3' }, minutes(20));
    hold.deadLettered('h4', { reason: 'not-json' }, minutes(30));
    expect(hold.summary(3600, minutes(70))).toEqual({
      held: 4,
      oldestSeconds: 70 * 60,
      triageSlaSeconds: 3600,
      pastSla: true,
      topReasons: [
        { reason: 'schema', count: 2 },
        { reason: 'max-delivery-attempts', count: 1 },
        { reason: 'not-json', count: 1 },
      ],
      schemaFailuresLastHour: 1, // e1 was 70 minutes ago
    });
    hold.redriven('e2');
    hold.purged(['h1', 'nope']);
    expect(hold.summary(3600, minutes(70))).toMatchObject({
      held: 2,
      oldestSeconds: 50 * 60,
      pastSla: false,
      topReasons: [
        { reason: 'not-json', count: 1 },
        { reason: 'schema', count: 1 },
      ],
    });
    // A redriven message without an event id to match takes the oldest (the count stays right).
    hold.redriven(undefined);
    expect(hold.summary(3600, minutes(70))).toMatchObject({ held: 1, topReasons: [{ reason: 'not-json', count: 1 }] });
    hold.clear();
    expect(hold.summary(3600, minutes(70))).toEqual({
      held: 0,
      oldestSeconds: null,
      triageSlaSeconds: 3600,
      pastSla: false,
      topReasons: [],
      schemaFailuresLastHour: 0,
    });
  });
});

describe('judge', () => {
  const base = {
    consumer: 'c',
    topic: 't',
    backlog: 10,
    deadLettered: 0,
    slo: { oldestUnackedSeconds: 1e9, backlog: 1e9 },
    retentionSeconds: 7 * 86400,
    source: 'local' as const,
  };
  it('flags a consumer lagging past half its topic retention, and nothing without a topic retention', () => {
    expect(judge({ ...base, oldestUnackedSeconds: 3.6 * 86400, topicRetentionSeconds: 7 * 86400 }).pastHalfTopicRetention).toBe(true);
    expect(judge({ ...base, oldestUnackedSeconds: 3.4 * 86400, topicRetentionSeconds: 7 * 86400 }).pastHalfTopicRetention).toBe(false);
    expect(judge({ ...base, oldestUnackedSeconds: 9 * 86400 }).pastHalfTopicRetention).toBe(false);
  });
});

describe('mesh status lines', () => {
  const withHold = (consumer: string, hold: NonNullable<ConsumerStatus['health']>['hold']): ConsumerStatus => ({
    consumer,
    topic: 'orders',
    delivery: 'pull',
    service: 'processor',
    counters: null,
    health: { hold } as ConsumerStatus['health'],
  });

  it('names held dead letters, the oldest against the triage SLA, the reasons and schema failures, and what to run', () => {
    const lines = deadLetterLines({
      consumers: [
        withHold('processor-orders', {
          held: 3,
          oldestSeconds: 5 * 3600,
          triageSlaSeconds: 4 * 3600,
          pastSla: true,
          topReasons: [{ reason: 'schema', count: 3 }],
          schemaFailuresLastHour: 2,
        }),
        withHold('dashboard-orders', { held: 0, oldestSeconds: null, triageSlaSeconds: 4 * 3600, pastSla: false, topReasons: [] }),
        withHold('warehouse-orders', { held: 1, oldestSeconds: 60, triageSlaSeconds: 4 * 3600, pastSla: false }),
      ],
    });
    expect(lines).toEqual([
      'processor-orders: 3 dead letter(s) held, oldest 5.0 h of its 4 h triage SLA (PAST SLA); reasons: schema 3; 2 schema failure(s) in the last hour; triage: npm run mesh -- dead-letters processor-orders',
      'warehouse-orders: 1 dead letter(s) held, oldest 60.0 s of its 4 h triage SLA; triage: npm run mesh -- dead-letters warehouse-orders',
    ]);
  });

  it('lists the hottest keys per topic with share, rate and use of the per-key limit', () => {
    expect(
      hotKeyLines([
        {
          topic: 'orders',
          windowSeconds: 60,
          events: 900,
          keys: [{ key: 'o-hot', events: 600, share: 2 / 3, perSecond: 10, bytesPerSecond: 10_000, ofKeyLimit: 0.01 }],
        },
        { topic: 'analytics', windowSeconds: 60, events: 0, keys: [] },
      ]),
    ).toEqual(['hot keys of orders (last 60 s, 900 events): o-hot 67% 10.0/s (1.0% of the 1 MB/s key limit)']);
    expect(hotKeyLines(null)).toEqual([]);
  });

  it('names consumers whose service retried 1 % or more of its deliveries', () => {
    const counted = (consumer: string, received: number, failed: number): ConsumerStatus => ({
      consumer,
      topic: 'orders',
      delivery: 'pull',
      service: 'processor',
      counters: { received, done: received - failed, duplicate: 0, deadLettered: 0, failed },
      health: null,
    });
    expect(retryLines({ consumers: [counted('a', 1000, 9), counted('b', 1000, 10), counted('c', 0, 0)] })).toEqual([
      "b: 10 of 1000 deliveries failed and were retried (1.0%): see its service's log",
    ]);
  });
});
