/** `mesh smoke`'s pure parts: the generated mix and what every consumer must make of it (tools/smoke/mix.ts). */
import { applyOrderEvent, type OrderAnomaly, type OrderEventData, type OrderProjection } from '../../services/processor/orders';
import { activityField, likeDelta } from '../../services/processor/analytics';
import { contributionOf } from '../../services/dashboard/windows';
import { topicSchemas } from '../../shared/schemas';
import { MeshPublisher } from '../../shared/publisher';
import type { PubSub } from '@google-cloud/pubsub';
import {
  DEFAULT_SMOKE_MIX,
  newRunId,
  ORDER_SCRIPTS,
  planSmoke,
  POISON_TYPE,
  smokeWindow,
  SMOKE_RUN_ATTRIBUTE,
  SMOKE_WINDOW_AGE_MS,
  type SmokePlan,
} from '../../tools/smoke/mix';
import { exitCodeOf } from '../../tools/smoke/run';
import { defaultSpec } from '../support/specs';

const NOW = Date.parse('2026-03-10T12:34:56.789Z');
const spec = defaultSpec();
let plan: SmokePlan;

beforeAll(() => {
  plan = planSmoke({ runId: 'smoke-test-1', now: NOW });
});

const distinctEvents = (p: SmokePlan) => p.events.filter((e) => !e.duplicate);

describe('the mix', () => {
  it('is a few hundred messages on both topics, with duplicates and one poison per topic', () => {
    const m = DEFAULT_SMOKE_MIX;
    const orders = Object.entries(m.orders).reduce((n, [script, count]) => n + count * ORDER_SCRIPTS[script as keyof typeof ORDER_SCRIPTS].steps.length, 0);
    expect(distinctEvents(plan)).toHaveLength(m.views + m.clicks + m.likes + m.unlikes + orders);
    expect(plan.events.filter((e) => e.duplicate)).toHaveLength(m.duplicates);
    expect(plan.poison.map((p) => p.topic)).toEqual(['analytics', 'orders']);
    expect(plan.expected.published).toBe(plan.events.length + 2);
    expect(plan.expected.published).toBeGreaterThan(200);
    expect(plan.expected.published).toBeLessThan(400);
    expect(new Set(plan.events.map((e) => e.topic))).toEqual(new Set(['analytics', 'orders']));
  });

  it('republishes duplicates with the id, time and data of an earlier event, after it', () => {
    const firstIndex = new Map<string, number>();
    plan.events.forEach((e, i) => {
      if (!e.duplicate) {
        expect(firstIndex.has(e.id)).toBe(false); // distinct ids are unique
        firstIndex.set(e.id, i);
        return;
      }
      const original = plan.events[firstIndex.get(e.id)!];
      expect(original).toBeDefined();
      expect({ ...e, duplicate: false }).toEqual(original);
    });
    // Both topics get duplicates (an order's duplicate comes after the order's later steps).
    expect(new Set(plan.events.filter((e) => e.duplicate).map((e) => e.topic))).toEqual(new Set(['analytics', 'orders']));
  });

  it('tags everything with the run id, and two runs share nothing', () => {
    expect(plan.source).toBe('//mesh/smoke/smoke-test-1');
    for (const e of plan.events) {
      const owners = e.topic === 'analytics' ? [e.data.userId, e.data.postId] : [e.data.orderId, e.data.customerId];
      for (const owner of owners) expect(String(owner).startsWith('smoke-test-1-')).toBe(true);
    }
    for (const p of plan.poison)
      expect(p.attributes).toMatchObject({ 'ce-source': plan.source, [SMOKE_RUN_ATTRIBUTE]: 'smoke-test-1', 'ce-id': p.id, 'ce-type': POISON_TYPE });
    const other = planSmoke({ now: NOW });
    expect(other.runId).not.toBe(plan.runId);
    const ids = new Set(plan.events.map((e) => e.id));
    expect(other.events.some((e) => ids.has(e.id))).toBe(false);
    expect(newRunId(NOW, 'abc123')).toMatch(/^smoke-[0-9a-z]+-abc123$/);
  });

  it('dates every event inside one minute window ~36 h back, off the live page (30 minutes, 24 hours)', () => {
    const { startMs, key } = plan.window;
    expect(startMs % 60_000).toBe(0);
    expect(key).toBe(new Date(startMs).toISOString().slice(0, 16));
    expect(NOW - startMs).toBeGreaterThanOrEqual(SMOKE_WINDOW_AGE_MS);
    expect(NOW - startMs).toBeLessThanOrEqual(SMOKE_WINDOW_AGE_MS + 2 * 3600_000 + 60_000);
    for (const t of [...plan.events.map((e) => e.time), ...plan.poison.map((p) => p.attributes['ce-time'])]) {
      expect(Date.parse(t)).toBeGreaterThanOrEqual(startMs);
      expect(Date.parse(t)).toBeLessThan(startMs + 60_000);
    }
    expect(smokeWindow(NOW, 0).startMs).not.toBe(smokeWindow(NOW, 0.5).startMs);
  });

  it("passes the topics' schemas: events through MeshPublisher.prepare, the poison as Pub/Sub would check it", () => {
    const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: plan.source });
    for (const e of plan.events) expect(() => publisher.prepare(e.topic, e.type, e.data, { id: e.id, time: e.time })).not.toThrow();
    for (const p of plan.poison) {
      // Every schema field present (a raw producer's contract), and only the envelope is wrong.
      expect(topicSchemas(spec, p.topic).read(p.data)).toEqual(p.data);
      expect(spec.topics[p.topic].eventTypes).not.toContain(p.attributes['ce-type']);
    }
  });
});

describe('the expected outcome', () => {
  it('counts each distinct event once per type, as the dashboard and the warehouse must', () => {
    for (const topic of ['analytics', 'orders'] as const) {
      const events = distinctEvents(plan).filter((e) => e.topic === topic);
      expect(plan.expected.ids[topic].sort()).toEqual(events.map((e) => e.id).sort());
      const byType: Record<string, number> = {};
      for (const e of events) {
        // The dashboard's own contribution of the event: its type and its minute window.
        const c = contributionOf(`dashboard-${topic}`, topic, {
          event: { ...e, source: plan.source, schemaVersion: 'v2', specversion: '1.0', datacontenttype: 'application/json' },
        } as never);
        expect(Math.floor(c.timeMs / 60_000) * 60_000).toBe(plan.window.startMs);
        byType[c.type] = (byType[c.type] ?? 0) + 1;
      }
      expect(plan.expected.distinct[topic]).toEqual(byType);
    }
    expect(plan.expected.distinct.analytics).toEqual({ view: 90, click: 60, 'like.created': 35, 'like.removed': 15 });
  });

  it("agrees with the processor's order state machine (services/processor/orders.ts), anomaly included", () => {
    const projections = new Map<string, OrderProjection | undefined>();
    const anomalies = new Map<string, OrderAnomaly[]>();
    for (const e of distinctEvents(plan).filter((x) => x.topic === 'orders')) {
      const orderId = String(e.data.orderId);
      const step = applyOrderEvent(projections.get(orderId), { id: e.id, type: e.type, time: e.time, data: e.data as unknown as OrderEventData });
      projections.set(orderId, step.projection);
      if (step.anomaly) anomalies.set(orderId, [...(anomalies.get(orderId) ?? []), step.anomaly]);
    }
    expect([...projections.keys()].sort()).toEqual(Object.keys(plan.expected.orders).sort());
    for (const [orderId, want] of Object.entries(plan.expected.orders)) {
      const got = projections.get(orderId)!;
      expect({ orderId, state: got.state, lastSequence: got.lastSequence, anomalyCount: got.anomalyCount }).toEqual({
        orderId,
        state: want.state,
        lastSequence: want.lastSequence,
        anomalyCount: want.anomalies.length,
      });
      const found = anomalies.get(orderId) ?? [];
      expect(found.map((a) => ({ kind: a.kind, reason: a.reason }))).toEqual(
        want.anomalies.map((a) => ({ kind: a.kind, reason: expect.stringContaining(a.reason) })),
      );
    }
    // Exactly one impossible transition in the run: shipped before paid.
    const withAnomaly = Object.values(plan.expected.orders).filter((o) => o.anomalies.length);
    expect(withAnomaly).toEqual([{ state: 'created', lastSequence: 2, anomalies: [{ kind: 'invalid-transition', reason: 'shipped before paid' }] }]);
  });

  it("agrees with the processor's like counters and activity counts (services/processor/analytics.ts)", () => {
    const likes: Record<string, number> = {};
    const activity: Record<string, { total: number; counts: Record<string, number> }> = {};
    for (const e of distinctEvents(plan).filter((x) => x.topic === 'analytics')) {
      const delta = likeDelta(e.type);
      if (delta) likes[String(e.data.postId)] = (likes[String(e.data.postId)] ?? 0) + delta;
      const user = (activity[String(e.data.userId)] ??= { total: 0, counts: {} });
      user.total++;
      user.counts[activityField(e.type)] = (user.counts[activityField(e.type)] ?? 0) + 1;
    }
    expect(plan.expected.likes).toEqual(likes);
    expect(plan.expected.activity).toEqual(activity);
    expect(Object.keys(likes)).toHaveLength(DEFAULT_SMOKE_MIX.posts);
    expect(Object.values(likes).reduce((a, b) => a + b, 0)).toBe(DEFAULT_SMOKE_MIX.likes - DEFAULT_SMOKE_MIX.unlikes);
  });

  it("scales with the mix options, and names each topic's poison", () => {
    const small = planSmoke({
      runId: 'smoke-small',
      now: NOW,
      mix: { views: 2, clicks: 1, likes: 1, unlikes: 0, orders: { shipped: 1, cancelled: 0, paid: 0, impossible: 1 }, duplicates: 2 },
    });
    expect(small.expected.distinct).toEqual({
      analytics: { view: 2, click: 1, 'like.created': 1 },
      orders: { 'order.created': 2, 'order.paid': 1, 'order.shipped': 2 },
    });
    expect(small.expected.published).toBe(4 + 5 + 2 + 2);
    expect(small.expected.poison).toEqual({ analytics: small.poison[0].id, orders: small.poison[1].id });
  });
});

it('exits 0 only when every check passed', () => {
  expect(exitCodeOf({ ok: true })).toBe(0);
  expect(exitCodeOf({ ok: false })).toBe(1);
});
