/** DependencyMonitor: a probe that fails or does not answer in time makes a reason; one that answers clears it. */
import { createLogger, DependencyMonitor, DEFAULT_HANDLER_TIMEOUT_MS } from '../../shared/consumer';

const log = createLogger({ level: 'silent' });

describe('DependencyMonitor', () => {
  it('reports a probe that rejects, one that hangs past its timeout, and clears them when they answer', async () => {
    let firestore: 'up' | 'down' | 'hang' = 'up';
    const monitor = new DependencyMonitor({
      log,
      timeoutMs: 50,
      probes: {
        firestore: () =>
          firestore === 'up'
            ? Promise.resolve()
            : firestore === 'down'
              ? Promise.reject(new Error('14 UNAVAILABLE: connect ECONNREFUSED'))
              : new Promise(() => undefined),
        bigquery: () => Promise.resolve(),
      },
    });
    await monitor.probeAll();
    expect(monitor.reasons).toEqual([]);
    firestore = 'down';
    await monitor.probeAll();
    expect(monitor.reasons).toEqual(['firestore unreachable: 14 UNAVAILABLE: connect ECONNREFUSED']);
    firestore = 'hang';
    await monitor.probeAll();
    expect(monitor.reasons).toEqual(['firestore unreachable: no answer within 50 ms']);
    firestore = 'up';
    await monitor.probeAll();
    expect(monitor.reasons).toEqual([]);
  });

  it('probes on its own once started, every interval, until stopped', async () => {
    let calls = 0;
    const monitor = new DependencyMonitor({ log, intervalMs: 10, probes: { x: async () => void calls++ } });
    await monitor.start();
    await new Promise((r) => setTimeout(r, 80));
    await monitor.stop();
    const seen = calls;
    expect(seen).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 40));
    expect(calls).toBe(seen);
  });

  it('handlers get 10 s by default', () => expect(DEFAULT_HANDLER_TIMEOUT_MS).toBe(10_000));
});
