/**
 * The smoke test's known mix and what every consumer must make of it, as pure functions (no I/O):
 * test/unit/smoke.test.ts checks the expectations against the processor's own state machine.
 *
 * Everything a run publishes is tagged with its run id, so the checks count only the run's own
 * events and the smoke can run against a mesh with other traffic, or twice at once:
 *
 * - ce-source `//mesh/smoke/<run id>` (the warehouse's `source` column);
 * - user, post, order and customer ids start with the run id (the processor's documents);
 * - event time (ce-time) in one minute of its own, about 36 hours back (SMOKE_WINDOW_AGE_MS): the
 *   dashboard counts by event time into minute and hour windows, so the run's minute window holds
 *   the run's events only. Current windows would mix the run with live traffic. 36 hours back, the
 *   minute and its hour are also off the live page (last 30 minutes, last 24 hours);
 * - the poison carries the run id as attribute `mesh-smoke-run` and its own ce-id, by which it is
 *   found in the dead-letter holds.
 */
import { randomBytes } from 'node:crypto';
import { newEventId } from '../../shared/envelope';
import { windowKey, windowStart } from '../../services/dashboard/windows';

export const SMOKE_SOURCE_PREFIX = '//mesh/smoke/';
/** Attribute on the poison (the MeshPublisher sets only ce-* attributes). */
export const SMOKE_RUN_ATTRIBUTE = 'mesh-smoke-run';
/** Not an event type of any topic: the runtime dead-letters it at once, reason `unknown-type`. */
export const POISON_TYPE = 'smoke.poison';
export const POISON_REASON = 'unknown-type';
/** How far back the run's minute window lies (see above); the exact minute is random within 2 hours more. */
export const SMOKE_WINDOW_AGE_MS = 36 * 3600_000;
const WINDOW_SPREAD_MINUTES = 120;

export type SmokeTopic = 'analytics' | 'orders';
export const SMOKE_TOPICS: readonly SmokeTopic[] = ['analytics', 'orders'];

export interface SmokeMixOptions {
  users: number;
  posts: number;
  /** Analytics events per type. */
  views: number;
  clicks: number;
  likes: number;
  unlikes: number;
  /** Orders per script (ORDER_SCRIPTS). */
  orders: Record<OrderScriptName, number>;
  /** Events published a second time with the same ce-id (a republish: new message id). */
  duplicates: number;
}

/** Each order follows one script; `state` and `anomalies` are what the processor must end with. */
export const ORDER_SCRIPTS = {
  shipped: { steps: ['order.created', 'order.paid', 'order.shipped'], state: 'shipped', anomalies: [] },
  cancelled: { steps: ['order.created', 'order.cancelled'], state: 'cancelled', anomalies: [] },
  paid: { steps: ['order.created', 'order.paid'], state: 'paid', anomalies: [] },
  // The impossible transition: shipped before paid leaves the order created, with one anomaly.
  impossible: { steps: ['order.created', 'order.shipped'], state: 'created', anomalies: [{ kind: 'invalid-transition', reason: 'shipped before paid' }] },
} as const;
export type OrderScriptName = keyof typeof ORDER_SCRIPTS;

/** About 280 messages: 200 analytics, 50 order events, 24 duplicates, one poison per topic. */
export const DEFAULT_SMOKE_MIX: SmokeMixOptions = {
  users: 20,
  posts: 5,
  views: 90,
  clicks: 60,
  likes: 35,
  unlikes: 15,
  orders: { shipped: 12, cancelled: 3, paid: 3, impossible: 1 },
  duplicates: 24,
};

export interface SmokeEvent {
  topic: SmokeTopic;
  type: string;
  id: string;
  /** ce-time, inside the run's window. */
  time: string;
  data: Record<string, unknown>;
  /** A second publish of an earlier event (same id, time and data). */
  duplicate: boolean;
}

export interface SmokePoison {
  topic: SmokeTopic;
  id: string;
  /** Valid for the topic's schema (Pub/Sub checks it); the envelope is what is wrong. */
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

export interface ExpectedOrder {
  state: string;
  lastSequence: number;
  anomalies: readonly { kind: string; reason: string }[];
}

export interface SmokeExpected {
  /** Messages published: events, duplicates and poison. */
  published: number;
  /** topic -> event type -> distinct events: what the dashboard's window and the warehouse's view must count. */
  distinct: Record<SmokeTopic, Record<string, number>>;
  /** topic -> the distinct event ids. */
  ids: Record<SmokeTopic, string[]>;
  /** orderId -> the processor's projection at the end. */
  orders: Record<string, ExpectedOrder>;
  /** postId -> net likes (like.created - like.removed). */
  likes: Record<string, number>;
  /** userId -> the processor's activity document (counts keyed by type with non-alphanumerics as _). */
  activity: Record<string, { total: number; counts: Record<string, number> }>;
  /** topic -> the poison's event id: held by every push/pull consumer of the topic. */
  poison: Record<SmokeTopic, string>;
}

export interface SmokePlan {
  runId: string;
  /** ce-source of every event. */
  source: string;
  /** The dashboard minute window that holds the run (event times). */
  window: { startMs: number; key: string };
  /** In publish order: events (orders by step, interleaved with analytics), then duplicates. */
  events: SmokeEvent[];
  poison: SmokePoison[];
  expected: SmokeExpected;
}

/** `smoke-<time>-<random>`: short, a valid Firestore id, ordering key and BigQuery string. */
export function newRunId(nowMs = Date.now(), random = randomBytes(3).toString('hex')): string {
  return `smoke-${nowMs.toString(36)}-${random}`;
}

/** The minute the run's events are dated in: SMOKE_WINDOW_AGE_MS back, plus up to 2 hours more by `random` (0..1). */
export function smokeWindow(nowMs: number, random = Math.random()): { startMs: number; key: string } {
  const startMs = windowStart('minute', nowMs - SMOKE_WINDOW_AGE_MS) - Math.floor(random * WINDOW_SPREAD_MINUTES) * 60_000;
  return { startMs, key: windowKey('minute', startMs) };
}

export interface PlanOptions {
  runId?: string;
  /** Default: smokeWindow(now). */
  window?: { startMs: number; key: string };
  mix?: Partial<SmokeMixOptions>;
  now?: number;
}

/** Builds the run's messages and what the consumers must make of them. */
export function planSmoke(options: PlanOptions = {}): SmokePlan {
  const now = options.now ?? Date.now();
  const runId = options.runId ?? newRunId(now);
  const window = options.window ?? smokeWindow(now);
  const mix = { ...DEFAULT_SMOKE_MIX, ...options.mix };
  const source = `${SMOKE_SOURCE_PREFIX}${runId}`;
  const id = (kind: string, n: number) => `${runId}-${kind}${n}`;
  let clock = 0;
  // 10 ms apart from one second into the minute: a few thousand events stay inside it.
  const nextTime = () => new Date(window.startMs + 1000 + 10 * clock++).toISOString();

  // Analytics: the types round-robin over users and posts.
  const types: string[] = [];
  const remaining: Record<string, number> = { view: mix.views, click: mix.clicks, 'like.created': mix.likes, 'like.removed': mix.unlikes };
  while (Object.values(remaining).some((n) => n > 0)) {
    for (const type of Object.keys(remaining)) if (remaining[type]-- > 0) types.push(type);
  }
  const analytics = types.map((type, i): Omit<SmokeEvent, 'time'> => {
    const userId = id('u', (i % mix.users) + 1);
    const postId = id('p', (i % mix.posts) + 1);
    const data = {
      userId,
      sessionId: `${userId}-s`,
      page: `/posts/${postId}`,
      element: type === 'click' ? 'like-button' : '',
      postId,
      country: 'DE',
      durationMs: type === 'view' ? 1000 + i : 0,
    };
    return { topic: 'analytics', type, id: newEventId(), data, duplicate: false };
  });

  // Orders: every order's step 1, then every step 2 ...: an order's events in sequence, orders interleaved.
  const orders: { orderId: string; script: OrderScriptName }[] = [];
  for (const script of Object.keys(ORDER_SCRIPTS) as OrderScriptName[]) {
    for (let i = 0; i < (mix.orders[script] ?? 0); i++) orders.push({ orderId: id('o', orders.length + 1), script });
  }
  const orderEvents: Omit<SmokeEvent, 'time'>[] = [];
  for (let step = 0; step < 3; step++) {
    orders.forEach(({ orderId, script }, n) => {
      const type = ORDER_SCRIPTS[script].steps[step];
      if (!type) return;
      const data = {
        orderId,
        customerId: id('c', n + 1),
        sequence: step + 1,
        amountCents: 1000 + n,
        currency: 'EUR',
        itemCount: 1 + (n % 3),
        reason: type === 'order.cancelled' ? 'smoke test' : '',
        carrier: type === 'order.shipped' ? 'smoke' : '',
      };
      orderEvents.push({ topic: 'orders', type, id: newEventId(), data, duplicate: false });
    });
  }

  // Interleave the two topics in proportion, then republish every k-th event once more.
  const events: SmokeEvent[] = [];
  const total = analytics.length + orderEvents.length;
  let a = 0;
  let o = 0;
  while (a + o < total) {
    const takeOrder = o < orderEvents.length && (a >= analytics.length || o * analytics.length <= a * orderEvents.length);
    events.push({ ...(takeOrder ? orderEvents[o++] : analytics[a++]), time: nextTime() });
  }
  // Half the duplicates from each topic, spread evenly over its events.
  const byTopic = SMOKE_TOPICS.map((topic) => events.filter((e) => e.topic === topic));
  const wanted = [Math.ceil(mix.duplicates / 2), Math.floor(mix.duplicates / 2)];
  for (let i = 0; i < mix.duplicates; i++) {
    const pool = byTopic[i % 2];
    const n = Math.floor(i / 2);
    if (n < pool.length) events.push({ ...pool[Math.floor((n * pool.length) / wanted[i % 2])], duplicate: true });
  }

  const poison = SMOKE_TOPICS.map((topic): SmokePoison => {
    const eventId = newEventId();
    const data =
      topic === 'analytics'
        ? { userId: id('u', 0), sessionId: '', page: '/poison', element: '', postId: '', country: '', durationMs: 0 }
        : { orderId: id('o', 0), customerId: id('c', 0), sequence: 1, amountCents: 0, currency: 'EUR', itemCount: 0, reason: '', carrier: '' };
    const attributes = {
      'ce-id': eventId,
      'ce-type': POISON_TYPE,
      'ce-source': source,
      'ce-specversion': '1.0',
      'ce-time': nextTime(),
      'content-type': 'application/json',
      [SMOKE_RUN_ATTRIBUTE]: runId,
    };
    return { topic, id: eventId, data, attributes };
  });

  return { runId, source, window, events, poison, expected: expectedOutcome(events, poison, orders) };
}

/** What the consumers must end with, from the messages and the orders' scripts. */
export function expectedOutcome(
  events: readonly SmokeEvent[],
  poison: readonly SmokePoison[],
  orders: readonly { orderId: string; script: OrderScriptName }[],
): SmokeExpected {
  const distinct: SmokeExpected['distinct'] = { analytics: {}, orders: {} };
  const ids: SmokeExpected['ids'] = { analytics: [], orders: [] };
  const likes: SmokeExpected['likes'] = {};
  const activity: SmokeExpected['activity'] = {};
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.id)) continue; // a duplicate counts nowhere
    seen.add(e.id);
    distinct[e.topic][e.type] = (distinct[e.topic][e.type] ?? 0) + 1;
    ids[e.topic].push(e.id);
    if (e.topic !== 'analytics') continue;
    const userId = String(e.data.userId);
    const user = (activity[userId] ??= { total: 0, counts: {} });
    user.total++;
    const field = e.type.replace(/[^A-Za-z0-9_]/g, '_');
    user.counts[field] = (user.counts[field] ?? 0) + 1;
    const delta = e.type === 'like.created' ? 1 : e.type === 'like.removed' ? -1 : 0;
    if (delta) likes[String(e.data.postId)] = (likes[String(e.data.postId)] ?? 0) + delta;
  }
  const expectedOrders: SmokeExpected['orders'] = {};
  for (const { orderId, script } of orders) {
    const s = ORDER_SCRIPTS[script];
    expectedOrders[orderId] = { state: s.state, lastSequence: s.steps.length, anomalies: s.anomalies };
  }
  return {
    published: events.length + poison.length,
    distinct,
    ids,
    orders: expectedOrders,
    likes,
    activity,
    poison: Object.fromEntries(poison.map((p) => [p.topic, p.id])) as Record<SmokeTopic, string>,
  };
}

/** "90 view, 60 click" */
export function describeCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}
