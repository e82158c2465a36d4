/** What the dashboard's windows must hold for a set of events counted once each: the tests' model. */
import { DashboardReader } from '../../services/dashboard/reader';
import type { Contribution, Granularity } from '../../services/dashboard/windows';

export interface ModelWindow {
  total: number;
  events: Record<string, Record<string, number>>;
  orders: Record<string, number>;
  likes: number;
  /** `<topic>|<userId>` of every event in the window. */
  users: Set<string>;
}

/** Window key -> the counters the events give it. */
export function modelWindows(events: Contribution[], granularity: Granularity): Map<string, ModelWindow> {
  const want = new Map<string, ModelWindow>();
  for (const c of events) {
    const key = DashboardReader.windowOf(granularity, c.timeMs);
    const w = want.get(key) ?? { total: 0, events: {}, orders: {}, likes: 0, users: new Set<string>() };
    want.set(key, w);
    w.total++;
    const byType = (w.events[c.topic] ??= {});
    byType[c.type] = (byType[c.type] ?? 0) + 1;
    if (c.orderState) w.orders[c.orderState] = (w.orders[c.orderState] ?? 0) + 1;
    w.likes += c.like?.delta ?? 0;
    w.users.add(`${c.topic}|${c.userId}`);
  }
  return want;
}

/** The counters only (no users), as plain objects by window key, for toEqual. */
export type WindowCounters = Omit<ModelWindow, 'users'>;

export function countersOf(windows: Iterable<readonly [string, WindowCounters]>): Record<string, WindowCounters> {
  return Object.fromEntries([...windows].map(([k, w]) => [k, { total: w.total, events: w.events, orders: w.orders, likes: w.likes }]));
}
