/**
 * The processor's group commit of order events (services/processor/order-commits.ts) on the
 * Firestore emulator, through the real client: the events of different orders in flight at once
 * share one commit, each under its own preconditions, and each order's projection is what its
 * events one by one make it:
 *
 * - many orders at once: right projections, in fewer commits than events;
 * - a seen event inside a group answers 'duplicate', and its neighbours apply;
 * - a projection another instance moved (a stale cached update time) fails only its own event,
 *   which reads again and applies; its neighbours apply;
 * - an event Firestore refuses fails alone, as poison ('rejected-by-sink').
 */
import { PoisonError, type DecodedEvent } from '../../shared/consumer';
import type { OrderEventData } from '../../services/processor/orders';
import { ProcessorStore } from '../../services/processor/store';
import { testFirestore, uniqueProject } from '../support/emulators';

const CONSUMER = 'processor-orders';
const TOPIC = 'orders';
const STEPS = ['order.created', 'order.paid', 'order.shipped'];

let seq = 0;
function orderEvent(type: string, orderId: string, sequence: number, overrides: Partial<OrderEventData> = {}): DecodedEvent<OrderEventData> {
  return {
    event: {
      id: `e-${process.pid}-${++seq}`,
      type,
      specversion: '1.0',
      datacontenttype: 'application/json',
      source: '//test/order-commits',
      time: new Date(Date.UTC(2026, 11, 6, 12, 0, seq)).toISOString(),
      schemaVersion: 'v1',
      data: {
        orderId,
        customerId: 'c-1',
        sequence,
        amountCents: 2599,
        currency: 'EUR',
        itemCount: 2,
        reason: '',
        carrier: type === 'order.shipped' ? 'dhl' : '',
        ...overrides,
      },
    },
    readAs: 'v1',
    messageId: `m-${++seq}`,
    orderingKey: orderId,
    attributes: {},
  };
}

/** Each order's three steps, applied in sequence per order, all orders at once (as ordering keys run them). */
async function runOrders(store: ProcessorStore, orders: string[]): Promise<string[]> {
  const results: string[] = [];
  await Promise.all(
    orders.map(async (orderId) => {
      for (let step = 0; step < STEPS.length; step++)
        results.push((await store.applyOrderEvent(CONSUMER, orderEvent(STEPS[step], orderId, step + 1), TOPIC)).result);
    }),
  );
  return results;
}

const stores: ProcessorStore[] = [];
function newStore(project = uniqueProject('order-commits'), maxCommitsInFlight = 1): ProcessorStore {
  const store = new ProcessorStore(testFirestore(project), { orderCommits: { maxCommitsInFlight } });
  stores.push(store);
  return store;
}
afterAll(() => Promise.all(stores.map((s) => s.db.terminate())));

it('applies many orders at once in fewer commits than events, each projection as its events make it', async () => {
  const store = newStore();
  const orders = Array.from({ length: 30 }, (_, i) => `o-many-${i}`);
  const results = await runOrders(store, orders);
  expect(results).toEqual(Array(90).fill('done'));
  for (const orderId of orders) {
    const order = await store.readOrder(orderId);
    expect(order).toMatchObject({ orderId, state: 'shipped', lastSequence: 3, carrier: 'dhl', paidCents: 2599, anomalyCount: 0 });
    expect(order!.history.map((h) => h.type)).toEqual(STEPS);
  }
  const { commits, events, largestGroup } = store.orderCommits.stats;
  expect(events).toBe(90);
  expect(commits).toBeLessThan(90 / 3);
  expect(largestGroup).toBeGreaterThan(5);
});

it('answers duplicate for a seen event inside a group, and applies its neighbours', async () => {
  const store = newStore();
  const seen = orderEvent('order.created', 'o-seen', 1);
  expect((await store.applyOrderEvent(CONSUMER, seen, TOPIC)).result).toBe('done');
  const others = Array.from({ length: 12 }, (_, i) => orderEvent('order.created', `o-fresh-${i}`, 1));
  const outcomes = await Promise.all([others[0], seen, ...others.slice(1)].map((e) => store.applyOrderEvent(CONSUMER, e, TOPIC)));
  expect(outcomes.map((o) => o.result)).toEqual(['done', 'duplicate', ...Array(11).fill('done')]);
  expect(store.orderCommits.stats.seenFound).toBe(1);
  for (const e of others) expect(await store.readOrder(e.event.data.orderId)).toMatchObject({ state: 'created', lastSequence: 1 });
  expect(await store.readOrder('o-seen')).toMatchObject({ state: 'created', lastSequence: 1, history: [expect.objectContaining({ eventId: seen.event.id })] });
});

it('fails only the event whose cached projection another instance moved; it reads again and applies', async () => {
  const project = uniqueProject('order-commits-stale');
  const a = newStore(project);
  const b = newStore(project);
  await a.applyOrderEvent(CONSUMER, orderEvent('order.created', 'o-moved', 1), TOPIC); // a caches it
  await b.applyOrderEvent(CONSUMER, orderEvent('order.paid', 'o-moved', 2), TOPIC); // b moves it
  const neighbours = Array.from({ length: 8 }, (_, i) => orderEvent('order.created', `o-beside-${i}`, 1));
  const outcomes = await Promise.all(
    [neighbours[0], orderEvent('order.shipped', 'o-moved', 3), ...neighbours.slice(1)].map((e) => a.applyOrderEvent(CONSUMER, e, TOPIC)),
  );
  expect(outcomes.map((o) => o.result)).toEqual(Array(9).fill('done'));
  expect(a.orderCommits.stats.splits).toBe(1);
  const moved = await a.readOrder('o-moved');
  expect(moved).toMatchObject({ state: 'shipped', lastSequence: 3, anomalyCount: 0 });
  expect(moved!.history.map((h) => h.type)).toEqual(STEPS);
  for (const e of neighbours) expect(await a.readOrder(e.event.data.orderId)).toMatchObject({ state: 'created' });
});

it('fails an event Firestore refuses alone, as poison, and applies its neighbours', async () => {
  const store = newStore();
  const first = orderEvent('order.created', 'o-first', 1);
  // A value over Firestore's field-value limit (1 MiB - 89 bytes): INVALID_ARGUMENT for this event alone.
  const refused = orderEvent('order.created', 'o-refused', 1, { customerId: 'x'.repeat(1_100_000) });
  const neighbours = Array.from({ length: 8 }, (_, i) => orderEvent('order.created', `o-next-${i}`, 1));
  const settled = await Promise.allSettled(
    [first, ...neighbours.slice(0, 4), refused, ...neighbours.slice(4)].map((e) => store.applyOrderEvent(CONSUMER, e, TOPIC)),
  );
  const failure = settled[5];
  expect(failure.status).toBe('rejected');
  expect((failure as PromiseRejectedResult).reason).toBeInstanceOf(PoisonError);
  expect((failure as PromiseRejectedResult).reason).toMatchObject({ reason: 'rejected-by-sink', message: expect.stringContaining(refused.event.id) });
  expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(9);
  expect(store.orderCommits.stats.splits).toBe(1);
  expect(await store.readOrder('o-refused')).toBeUndefined();
  for (const e of neighbours) expect(await store.readOrder(e.event.data.orderId)).toMatchObject({ state: 'created' });
});
