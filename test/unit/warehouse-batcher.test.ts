/** The warehouse's Batcher: when batches are written, what each item's promise settles to, and the write limit. */
import { Batcher } from '../../services/warehouse/batcher';
import { batchFromEnv } from '../../services/warehouse/env';

/** A writer that records its batches and answers when told to. */
function recordingWriter() {
  const batches: number[][] = [];
  const waiting: (() => void)[] = [];
  let hold = false;
  const write = async (items: number[]) => {
    batches.push(items);
    if (hold) await new Promise<void>((resolve) => waiting.push(resolve));
    return items.map((n) => (n < 0 ? new Error(`bad ${n}`) : n * 10));
  };
  return {
    batches,
    write,
    hold() {
      hold = true;
    },
    release() {
      hold = false;
      for (const wake of waiting.splice(0)) wake();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

it('writes a batch when it is full, and each item gets its own result', async () => {
  const w = recordingWriter();
  const batcher = new Batcher(w.write, { maxItems: 3, maxDelayMs: 60_000 });
  const results = [1, 2, 3].map((n) => batcher.add(n, 1));
  await expect(Promise.all(results)).resolves.toEqual([10, 20, 30]);
  expect(w.batches).toEqual([[1, 2, 3]]);
  expect(batcher.stats()).toMatchObject({ pending: 0, peakPending: 3, batches: 1, written: 3 });
});

it('writes before a batch would pass maxBytes, and after maxDelayMs at the latest', async () => {
  const w = recordingWriter();
  const batcher = new Batcher(w.write, { maxItems: 100, maxBytes: 10, maxDelayMs: 30 });
  const first = [batcher.add(1, 6), batcher.add(2, 6)]; // the second would make 12 bytes
  await first[0];
  expect(w.batches).toEqual([[1]]);
  const started = Date.now();
  await first[1];
  expect(Date.now() - started).toBeGreaterThanOrEqual(20);
  expect(w.batches).toEqual([[1], [2]]);
});

it('fails only the items the writer failed, and every item when the write throws', async () => {
  const batcher = new Batcher(async (items: number[]) => items.map((n) => (n < 0 ? new Error(`bad ${n}`) : n)), { maxItems: 3 });
  const settled = await Promise.allSettled([batcher.add(1, 1), batcher.add(-2, 1), batcher.add(3, 1)]);
  expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([1, 'bad -2', 3]);

  const broken = new Batcher<number, number>(
    async () => {
      throw new Error('endpoint down');
    },
    { maxItems: 2 },
  );
  const all = await Promise.allSettled([broken.add(1, 1), broken.add(2, 1)]);
  expect(all.map((s) => s.status === 'rejected' && (s.reason as Error).message)).toEqual(['endpoint down', 'endpoint down']);
  expect(broken.stats()).toMatchObject({ pending: 0, failedBatches: 1, written: 0 });
});

it('writes at most maxConcurrentWrites batches at once; sealed ones wait their turn', async () => {
  const w = recordingWriter();
  const batcher = new Batcher(w.write, { maxItems: 1, maxConcurrentWrites: 2 });
  w.hold();
  const results = [1, 2, 3, 4].map((n) => batcher.add(n, 1));
  await tick();
  expect(w.batches).toEqual([[1], [2]]);
  expect(batcher.stats().pending).toBe(4);
  w.release();
  await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40]);
  expect(w.batches).toEqual([[1], [2], [3], [4]]);
});

it('keeps filling a batch whose delay passed while every slot is busy, and writes it whole when a slot frees', async () => {
  const w = recordingWriter();
  const batcher = new Batcher(w.write, { maxItems: 4, maxDelayMs: 5, maxConcurrentWrites: 1 });
  w.hold();
  const results = [batcher.add(1, 1)];
  await new Promise((r) => setTimeout(r, 20));
  expect(w.batches).toEqual([[1]]); // the only slot is now busy
  // Each of these waits longer than maxDelayMs: sealed on time they would be three batches of one.
  for (const n of [2, 3, 4]) {
    results.push(batcher.add(n, 1));
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(w.batches).toEqual([[1]]);
  // A full batch is sealed even while it waits; the next item starts a new one.
  results.push(batcher.add(5, 1), batcher.add(6, 1));
  await new Promise((r) => setTimeout(r, 20));
  w.release();
  await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40, 50, 60]);
  expect(w.batches).toEqual([[1], [2, 3, 4, 5], [6]]);
  expect(batcher.stats()).toMatchObject({ pending: 0, batches: 3, written: 6 });
});

it('flushEagerly writes what is buffered now and every later item at once; idle waits for the writes', async () => {
  const w = recordingWriter();
  const batcher = new Batcher(w.write, { maxItems: 100, maxDelayMs: 60_000 });
  const a = batcher.add(1, 1);
  batcher.flushEagerly();
  const b = batcher.add(2, 1);
  await batcher.idle();
  await expect(Promise.all([a, b])).resolves.toEqual([10, 20]);
  expect(w.batches).toEqual([[1], [2]]);
});

it('reads batch settings from the environment and refuses nonsense', () => {
  expect(batchFromEnv({ WAREHOUSE_BATCH_ROWS: '200', WAREHOUSE_BATCH_DELAY_MS: '50' })).toEqual({ maxItems: 200, maxBytes: undefined, maxDelayMs: 50 });
  expect(() => batchFromEnv({ WAREHOUSE_BATCH_ROWS: '-1' })).toThrow('WAREHOUSE_BATCH_ROWS "-1" is not a positive integer');
});
