/** InFlight (shared/consumer/inflight.ts): what a shutdown waits for. */
import { InFlight } from '../../shared/consumer/inflight';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('InFlight', () => {
  it('counts work until it settles, resolved or rejected, and returns the same outcome', async () => {
    const inFlight = new InFlight();
    const a = deferred<string>();
    const b = deferred<string>();
    const trackedA = inFlight.track(a.promise);
    const trackedB = inFlight.track(b.promise);
    expect(inFlight.size).toBe(2);
    a.resolve('done');
    await expect(trackedA).resolves.toBe('done');
    expect(inFlight.size).toBe(1);
    b.reject(new Error('failed'));
    await expect(trackedB).rejects.toThrow('failed');
    expect(inFlight.size).toBe(0);
  });

  it('has dropped the count by the time the caller continues after the work', async () => {
    const inFlight = new InFlight();
    const work = deferred<void>();
    const seen = inFlight.track(work.promise).then(() => inFlight.size);
    work.resolve();
    expect(await seen).toBe(0);
  });

  it('drained() answers true once the last work settles, false on its timeout', async () => {
    const inFlight = new InFlight();
    await expect(inFlight.drained(10)).resolves.toBe(true);
    const work = deferred<void>();
    void inFlight.track(work.promise);
    await expect(inFlight.drained(20)).resolves.toBe(false);
    const drained = inFlight.drained(5_000);
    work.resolve();
    await expect(drained).resolves.toBe(true);
  });
});
