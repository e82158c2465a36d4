/**
 * LocalTapHealth's dead-letter holds (shared/health/local.ts), fed through its tap subscriptions: a
 * stand-in Pub/Sub hands each tap's listener the messages a test pushes, so what is held, why, how
 * old and against which SLA is checked without an emulator (test/system/health.test.ts does it on one).
 */
import { EventEmitter } from 'node:events';
import type { PubSub } from '@google-cloud/pubsub';
import { LocalTapHealth } from '../../shared/health/local';
import { localTapNames, type HoldExitNotice } from '../../shared/spec/names';
import { specFromText, REPO_TOPICS_YAML } from '../support/specs';

const spec = specFromText(`
version: 1
project: local-hold-unit
${REPO_TOPICS_YAML}
services:
  processor: { localPort: 18082 }
consumers:
  processor-orders: { topic: orders, delivery: pull, service: processor }
  processor-analytics: { topic: analytics, delivery: pull, service: processor, deadLetter: { maxAttempts: 5, triageSla: 1h } }
warehouse: { dataset: test }
`);

const T0 = Date.parse('2026-12-05T12:00:00Z');
const minutes = (n: number) => T0 + n * 60_000;

/** The taps LocalTapHealth opens, by subscription name, and the schema revision that names the emulator instance. */
function fakePubSub() {
  const taps = new Map<string, EventEmitter>();
  const emulator = { revision: 'r1' };
  const pubsub = {
    subscription(name: string) {
      const tap = Object.assign(new EventEmitter(), { open: () => undefined, close: async () => undefined });
      taps.set(name, tap);
      return tap;
    },
    topic: () => ({ getMetadata: async () => [{ schemaSettings: { firstRevisionId: emulator.revision } }] }),
  } as unknown as PubSub;
  let ids = 0;
  const deliver = (subscription: string, message: { id?: string; attributes?: Record<string, string>; at?: number; data?: string }) => {
    const tap = taps.get(subscription);
    if (!tap) throw new Error(`no tap ${subscription}`);
    tap.emit('message', {
      id: message.id ?? `m${++ids}`,
      attributes: message.attributes ?? {},
      publishTime: new Date(message.at ?? Date.now()),
      data: Buffer.from(message.data ?? ''),
      ack: () => undefined,
    });
  };
  return { pubsub, emulator, deliver };
}

describe('LocalTapHealth holds', () => {
  let env: ReturnType<typeof fakePubSub>;
  let health: LocalTapHealth;
  const read = async (consumer: string) => (await health.read()).find((h) => h.consumer === consumer)!;
  const deadLetter = (consumer: string, id: string, attributes: Record<string, string>, at: number) =>
    env.deliver(localTapNames.deadLetterTap(consumer), { id, attributes, at });
  const purge = (notice: HoldExitNotice | string) =>
    env.deliver(localTapNames.holdExitsTap, { data: typeof notice === 'string' ? notice : JSON.stringify(notice) });

  beforeEach(() => {
    jest.useFakeTimers({ now: minutes(0) });
    env = fakePubSub();
    health = new LocalTapHealth(env.pubsub, spec, async () => ({ ids: [], next: 0 }));
    health.start();
  });
  afterEach(async () => {
    await health.close();
    jest.useRealTimers();
  });

  it('fills every consumer with an empty hold against its own triage SLA', async () => {
    const all = await health.read();
    expect(all.map((h) => [h.consumer, h.deadLettered, h.hold])).toEqual([
      ['processor-orders', 0, { held: 0, oldestSeconds: null, triageSlaSeconds: 4 * 3600, pastSla: false, topReasons: [], schemaFailuresLastHour: 0 }],
      ['processor-analytics', 0, { held: 0, oldestSeconds: null, triageSlaSeconds: 3600, pastSla: false, topReasons: [], schemaFailuresLastHour: 0 }],
    ]);
  });

  it('holds each dead letter with its reason and age; a redrive takes its event, a purge notice its message ids', async () => {
    deadLetter('processor-orders', 'h1', { reason: 'schema', 'ce-id': 'e1' }, minutes(0));
    deadLetter('processor-orders', 'h2', { CloudPubSubDeadLetterSourceDeliveryCount: '5', 'ce-id': 'e2' }, minutes(10));
    deadLetter('processor-orders', 'h3', { 'ce-id': 'e3' }, minutes(20));
    deadLetter('processor-orders', 'h4', { reason: 'schema', 'ce-id': 'e4' }, minutes(30));
    deadLetter('processor-orders', 'h4', { reason: 'schema', 'ce-id': 'e4' }, minutes(30)); // the tap handed it over again
    jest.setSystemTime(minutes(4 * 60 + 5));
    let orders = await read('processor-orders');
    expect(orders).toMatchObject({ deadLettered: 4, state: 'dead-letters', breached: false });
    expect(orders.hold).toEqual({
      held: 4,
      oldestSeconds: (4 * 60 + 5) * 60,
      triageSlaSeconds: 4 * 3600,
      pastSla: true,
      topReasons: [
        { reason: 'schema', count: 2 },
        { reason: 'max-delivery-attempts', count: 1 },
        { reason: 'unknown', count: 1 },
      ],
      schemaFailuresLastHour: 0,
    });
    expect((await read('processor-analytics')).hold!.held).toBe(0); // another consumer's hold

    // `mesh dead-letters --redrive` sends e2 back (not the oldest); a replay of e1 took nothing from the hold.
    env.deliver(localTapNames.redriveTap('processor-orders'), { attributes: { 'ce-id': 'e2' } });
    env.deliver(localTapNames.redriveTap('processor-orders'), { attributes: { 'ce-id': 'e1', replayId: 'r-1' } });
    orders = await read('processor-orders');
    expect(orders.hold).toMatchObject({ held: 3, oldestSeconds: (4 * 60 + 5) * 60 });
    expect(orders.hold!.topReasons).toEqual([
      { reason: 'schema', count: 2 },
      { reason: 'unknown', count: 1 },
    ]);

    // A purge announces the hold message ids it took: the oldest goes, the next is within the SLA.
    purge({ consumer: 'processor-orders', messageIds: ['h1', 'h3'], operationId: 'op-1' });
    orders = await read('processor-orders');
    expect(orders.deadLettered).toBe(1);
    expect(orders.hold).toMatchObject({ held: 1, oldestSeconds: (4 * 60 + 5 - 30) * 60, pastSla: false, topReasons: [{ reason: 'schema', count: 1 }] });

    purge({ consumer: 'processor-orders', messageIds: ['h4'], operationId: 'op-2' });
    orders = await read('processor-orders');
    expect(orders).toMatchObject({ deadLettered: 0, state: 'ok' });
    expect(orders.hold).toMatchObject({ held: 0, oldestSeconds: null, pastSla: false, topReasons: [] });
  });

  it('ignores what else is published on the hold-exits topic', async () => {
    deadLetter('processor-orders', 'h1', { reason: 'handler' }, minutes(0));
    for (const other of ['not json', 'null', '42', '{"consumer":"processor-orders","messageIds":"h1"}', '{"messageIds":["h1"]}'])
      expect(() => purge(other)).not.toThrow();
    purge({ consumer: 'nobody', messageIds: ['h1'], operationId: 'op' });
    expect((await read('processor-orders')).hold).toMatchObject({ held: 1, topReasons: [{ reason: 'handler', count: 1 }] });
  });

  it('drops a dead letter whose purge notice arrived first (the taps are separate subscribers)', async () => {
    purge({ consumer: 'processor-analytics', messageIds: ['h9'], operationId: 'op' });
    deadLetter('processor-analytics', 'h9', { reason: 'unknown-type' }, minutes(0));
    deadLetter('processor-analytics', 'h10', { reason: 'not-json' }, minutes(1));
    jest.setSystemTime(minutes(30));
    // Purged or not, a schema failure of the last hour counts.
    expect((await read('processor-analytics')).hold).toEqual({
      held: 1,
      oldestSeconds: 29 * 60,
      triageSlaSeconds: 3600,
      pastSla: false,
      topReasons: [{ reason: 'not-json', count: 1 }],
      schemaFailuresLastHour: 1,
    });
  });

  it('forgets the holds of an emulator that restarted empty', async () => {
    await health.read(); // the first reading names the emulator instance
    deadLetter('processor-orders', 'h1', { reason: 'schema' }, minutes(0));
    expect((await read('processor-orders')).hold!.held).toBe(1);
    env.emulator.revision = 'r2'; // apply committed the schemas again
    const orders = await read('processor-orders');
    expect(orders.deadLettered).toBe(0);
    expect(orders.hold).toMatchObject({ held: 0, oldestSeconds: null, topReasons: [], schemaFailuresLastHour: 0 });
  });
});
