/**
 * The snapshot's read plan: the current and previous windows are read on every build, the older
 * (settled) ones only every settledRefreshMs. The reader here is an in-memory stand-in recording
 * which ranges were asked for (the real reader is tested against the emulator).
 */
import type { DashboardReader, WindowAggregate } from '../../services/dashboard/reader';
import { SnapshotBuilder } from '../../services/dashboard/snapshot';
import { windowKey, windowSizeMs, windowStart, type Granularity } from '../../services/dashboard/windows';
import { specFromText, REPO_TOPICS_YAML } from '../support/specs';

const spec = specFromText(`
version: 1
project: snapshot-unit
${REPO_TOPICS_YAML}
services:
  dashboard: { localPort: 18081 }
consumers:
  dashboard-analytics: { topic: analytics, delivery: pull, service: dashboard }
warehouse: { dataset: test }
`);

function windowAt(granularity: Granularity, startMs: number, total: number): WindowAggregate {
  return {
    granularity,
    window: windowKey(granularity, startMs),
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + windowSizeMs(granularity)).toISOString(),
    total,
    events: {},
    topics: {},
    orders: {},
    likes: 0,
    users: { total: 0, byTopic: {}, standardError: 0 },
  };
}

describe('SnapshotBuilder read plan', () => {
  it('reads the settled windows once per settledRefreshMs and the recent two on every build', async () => {
    let now = Date.parse('2026-03-04T10:30:20Z');
    const totals = new Map<string, number>(); // granularity|start -> total
    const calls: { granularity: Granularity; since: number }[] = [];
    const reader = {
      async windows(granularity: Granularity, sinceMs: number) {
        calls.push({ granularity, since: windowStart(granularity, sinceMs) });
        return [...totals]
          .filter(([k]) => k.startsWith(granularity))
          .map(([k, total]) => windowAt(granularity, Number(k.split('|')[1]), total))
          .filter((w) => Date.parse(w.start) >= windowStart(granularity, sinceMs))
          .sort((a, b) => a.start.localeCompare(b.start));
      },
      async topPosts() {
        return [];
      },
    } as unknown as DashboardReader;
    const minute = (offset: number) => windowStart('minute', now) + offset * 60_000;
    for (let i = -5; i <= 0; i++) totals.set(`minute|${minute(i)}`, 10 + i);
    const builder = new SnapshotBuilder({
      spec,
      reader,
      healthSource: 'off',
      aggregatorStats: () => ({}) as never,
      minutes: 5,
      hours: 2,
      maxAgeMs: 0,
      settledRefreshMs: 60_000,
      now: () => now,
    });

    const first = await builder.get();
    expect(first.windows.minute.map((w) => w.total)).toEqual([6, 7, 8, 9, 10]); // the last 5 minutes
    expect(calls.filter((c) => c.granularity === 'minute').map((c) => c.since)).toEqual([minute(-4)]);

    // 10 s later: a late event changed a settled window and the current one changed; only the
    // current and previous minutes are read again, so the settled change is not seen yet.
    calls.length = 0;
    now += 10_000;
    totals.set(`minute|${minute(-3)}`, 100);
    totals.set(`minute|${minute(0)}`, 11);
    const second = await builder.get();
    expect(calls.filter((c) => c.granularity === 'minute').map((c) => c.since)).toEqual([minute(-1)]);
    expect(second.windows.minute.map((w) => w.total)).toEqual([6, 7, 8, 9, 11]);

    // After settledRefreshMs everything is read again.
    calls.length = 0;
    now += 60_000; // now a minute later: the window list moves on by one
    const third = await builder.get();
    expect(calls.filter((c) => c.granularity === 'minute')).toHaveLength(1);
    expect(third.windows.minute.map((w) => w.total)).toEqual([100, 8, 9, 11]);
  });
});
