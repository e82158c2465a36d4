/** KeyOrder (shared/consumer/ordering.ts): which message of an ordering key may run, across retries. */
import { KeyedQueue, KeyOrder } from '../../shared/consumer';

function keyOrder(waitMs = 10_000) {
  let now = 1_000_000;
  const order = new KeyOrder({ waitMs, now: () => now });
  return { order, advance: (ms: number) => (now += ms) };
}

/** Runs deliveries the way PullConsumer does and returns the ids that ran to completion, in order. */
function deliver(order: KeyOrder, deliveries: string[], fails: Record<string, number>): { done: string[]; heldBack: string[] } {
  const done: string[] = [];
  const heldBack: string[] = [];
  for (const id of deliveries) {
    if (!order.turn('k', id).run) {
      heldBack.push(id);
      continue;
    }
    if ((fails[id] ?? 0) > 0) {
      fails[id]--;
      order.ran('k', id, 1000);
    } else {
      order.ran('k', id);
      done.push(id);
    }
  }
  return { done, heldBack };
}

it('runs every message when nothing failed', () => {
  const { order } = keyOrder();
  expect(deliver(order, ['1', '2', '3'], {})).toEqual({ done: ['1', '2', '3'], heldBack: [] });
  expect(order.waiting).toBe(0);
});

it("holds a failed message's followers back and runs them in their first order when the emulator redelivers them reordered", () => {
  const { order } = keyOrder();
  const fails = { '2': 2 };
  // First delivery in publish order; 2 fails, 3 and 4 are held.
  expect(deliver(order, ['1', '2', '3', '4'], fails)).toEqual({ done: ['1'], heldBack: ['3', '4'] });
  // The emulator: a message sent back goes behind the key's ones still waiting in it (seen: 3, 4, 2,
  // then 4, 3, 2; and once 2 is done, 4 before 3).
  expect(deliver(order, ['3', '4', '2'], fails)).toEqual({ done: [], heldBack: ['3', '4'] });
  expect(deliver(order, ['4', '3', '2'], fails)).toEqual({ done: ['2'], heldBack: ['4', '3'] });
  expect(deliver(order, ['4', '3'], fails)).toEqual({ done: ['3'], heldBack: ['4'] });
  expect(order.waiting).toBe(1);
  expect(deliver(order, ['4'], fails)).toEqual({ done: ['4'], heldBack: [] });
  expect(order.waiting).toBe(0);
});

it('on GCP (redelivery in publish order) holds nothing twice', () => {
  const { order } = keyOrder();
  const fails = { '2': 1 };
  expect(deliver(order, ['1', '2', '3', '4'], fails)).toEqual({ done: ['1'], heldBack: ['3', '4'] });
  expect(deliver(order, ['2', '3', '4'], fails)).toEqual({ done: ['2', '3', '4'], heldBack: [] });
});

it('puts a message first seen during the wait after the held ones', () => {
  const { order } = keyOrder();
  const fails = { '2': 1 };
  deliver(order, ['1', '2', '3'], fails);
  expect(deliver(order, ['5', '2', '5', '3', '5'], fails)).toEqual({ done: ['2', '3', '5'], heldBack: ['5', '5'] });
});

it('says when the message the key waits for is due back, for the held ones to come after it', () => {
  const { order, advance } = keyOrder();
  order.ran('k', 'a', 4000);
  advance(1500);
  expect(order.turn('k', 'b')).toEqual({ run: false, dueInMs: 2500 });
  advance(5000);
  expect(order.turn('k', 'b')).toEqual({ run: false, dueInMs: 0 });
  expect(order.turn('k', 'a')).toEqual({ run: true });
});

it('stops waiting waitMs after the message was due (dead-lettered, or taken by another subscriber)', () => {
  const { order, advance } = keyOrder(10_000);
  order.ran('k', 'a', 1000);
  advance(11_000);
  expect(order.turn('k', 'b').run).toBe(false);
  advance(1);
  expect(order.turn('k', 'b').run).toBe(true);
  expect(order.waiting).toBe(0);
});

it('does not wait for a held message that will not come back (its last attempt)', () => {
  const { order } = keyOrder();
  order.ran('k', 'a', 1000);
  expect(order.turn('k', 'b', false).run).toBe(false);
  expect(order.turn('k', 'c').run).toBe(false);
  expect(order.turn('k', 'a').run).toBe(true);
  order.ran('k', 'a');
  // b is not waited for: c is next.
  expect(order.turn('k', 'c').run).toBe(true);
  order.ran('k', 'c');
  expect(order.waiting).toBe(0);
});

it('a retry of the awaited message pushes its due time; other keys are not affected', () => {
  const { order, advance } = keyOrder(1000);
  order.ran('k', 'a', 1000);
  expect(order.turn('other', 'x').run).toBe(true);
  advance(1900);
  expect(order.turn('k', 'a').run).toBe(true);
  order.ran('k', 'a', 5000);
  advance(5500);
  expect(order.turn('k', 'b')).toEqual({ run: false, dueInMs: 0 });
});

it('KeyedQueue runs one task per key at a time, in order, and keys in parallel', async () => {
  const queue = new KeyedQueue();
  const log: string[] = [];
  const step = (name: string, ms: number) => () => new Promise<void>((resolve) => setTimeout(() => (log.push(name), resolve()), ms));
  await Promise.all([queue.run('a', step('a1', 30)), queue.run('a', step('a2', 1)), queue.run('b', step('b1', 10))]);
  expect(log).toEqual(['b1', 'a1', 'a2']);
  expect(queue.size).toBe(0);
});
