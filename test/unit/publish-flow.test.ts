/** PublishFlow (shared/publisher/flow-control.ts): limits, first come first served, waking in order. */
import { PublishFlow } from '../../shared/publisher/flow-control';

const tick = () => new Promise((resolve) => setImmediate(resolve));

it('lets up to the message limit out, then admits waiters in order as others are answered', async () => {
  const flow = new PublishFlow({ maxMessages: 2, maxBytes: 1000 });
  const admitted: number[] = [];
  const sends = [1, 2, 3, 4, 5].map((n) => flow.acquire(10).then(() => admitted.push(n)));
  await tick();
  expect(admitted).toEqual([1, 2]);
  expect(flow.outstanding).toEqual({ messages: 2, bytes: 20 });
  flow.release(10);
  await tick();
  expect(admitted).toEqual([1, 2, 3]);
  flow.release(10);
  flow.release(10);
  await tick();
  expect(admitted).toEqual([1, 2, 3, 4, 5]);
  await Promise.all(sends);
});

it('counts bytes too, lets a message larger than the byte limit go alone, and keeps order behind a big one', async () => {
  const flow = new PublishFlow({ maxMessages: 100, maxBytes: 100 });
  const admitted: string[] = [];
  void flow.acquire(60).then(() => admitted.push('a'));
  void flow.acquire(500).then(() => admitted.push('big'));
  void flow.acquire(10).then(() => admitted.push('small'));
  await tick();
  // The small one fits but waits behind the big one: first come, first served.
  expect(admitted).toEqual(['a']);
  expect(flow.wouldWait(1)).toBe(true);
  flow.release(60);
  await tick();
  expect(admitted).toEqual(['a', 'big']);
  flow.release(500);
  await tick();
  expect(admitted).toEqual(['a', 'big', 'small']);
  flow.release(10);
  expect(flow.outstanding).toEqual({ messages: 0, bytes: 0 });
  expect(flow.wouldWait(10_000)).toBe(false);
});
