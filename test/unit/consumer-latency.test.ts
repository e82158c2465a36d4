/** Publish-to-effect latency (shared/consumer/latency.ts) and its place in /stats. */
import { LatencyRecorder, LATENCY_WINDOW_MS, ServiceStats } from '../../shared/consumer';

it('gives nearest-rank percentiles of the events handled within the window', () => {
  const recorder = new LatencyRecorder(1000);
  const now = 1_000_000;
  // 100 events 1..100 ms after their publish, handled 10 s ago; one 5 s one handled just now.
  for (let ms = 1; ms <= 100; ms++) recorder.record(new Date(now - 10_000 - ms), now - 10_000);
  recorder.record(new Date(now - 5000), now);
  expect(recorder.summary(now)).toEqual({ count: 101, p50: 51, p95: 96, p99: 100, max: 5000, windowMs: LATENCY_WINDOW_MS });
  // Past the window only the newest remains.
  expect(recorder.summary(now + LATENCY_WINDOW_MS - 5000)).toMatchObject({ count: 1, p50: 5000 });
  expect(recorder.summary(now + LATENCY_WINDOW_MS + 1)).toBeUndefined();
});

it('keeps the newest samples when full, ignores messages without a publish time, never goes negative', () => {
  const recorder = new LatencyRecorder(10);
  const now = 5_000_000;
  for (let i = 0; i < 20; i++) recorder.record(new Date(now - (i < 10 ? 1000 : 7)), now);
  recorder.record(undefined, now);
  expect(recorder.summary(now)).toMatchObject({ count: 10, p50: 7, max: 7 });
  const skewed = new LatencyRecorder(1);
  skewed.record(new Date(now + 500), now);
  expect(skewed.summary(now)).toMatchObject({ count: 1, p50: 0, max: 0 });
  expect(new LatencyRecorder(3).summary()).toBeUndefined();
});

it('is in the service snapshot per consumer that handled something in the window', () => {
  const stats = new ServiceStats('processor', ['a', 'b']);
  expect(stats.snapshot().latency).toBeUndefined();
  stats.latencyOf('a').record(new Date(Date.now() - 250));
  const latency = stats.snapshot().latency!;
  expect(Object.keys(latency)).toEqual(['a']);
  expect(latency.a.p99).toBeGreaterThanOrEqual(250);
  expect(() => stats.latencyOf('c')).toThrow(/no latency recorder/);
});
