/**
 * The documented analyst queries (services/warehouse/analyst-queries.ts, docs/analysts.md) on a
 * known scenario, through the real @google-cloud/bigquery client against the local BigQuery
 * endpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deadLetterRow, eventRow, type EventDelivery } from '../../shared/warehouse';
import { ensureWarehouse } from '../../services/warehouse/tables';
import { insertBatch } from '../../services/warehouse/rows';
import { analystQueries, analystQuery } from '../../services/warehouse/analyst-queries';
import { delivery, order, spec, useWarehouseEndpoint, view } from '../support/warehouse-deliveries';

const endpoint = useWarehouseEndpoint();

describe('documented analyst queries', () => {
  const now = Date.now();
  const hour = 3_600_000;
  /** The start of the hour three hours ago: every "old" event is at least ~2 hours old. */
  const H = Math.floor(now / hour) * hour - 3 * hour;
  const at = (minutes: number) => new Date(H + minutes * 60_000);
  const data: { topic: 'analytics' | 'orders'; d: EventDelivery }[] = [];
  const add = (topic: 'analytics' | 'orders', id: string, type: string, time: Date, payload: Record<string, unknown>, lateMs?: number) =>
    data.push({ topic, d: delivery(topic, id, type, time, payload, lateMs) });

  // Funnel: u1 views, clicks, likes; u2 views, clicks; u3 only views (published 5 minutes late);
  // u4 clicks without viewing; u5 views, likes, then clicks (liked before clicking).
  add('analytics', 'a-u1-view', 'view', at(1), view('u1'));
  add('analytics', 'a-u1-click', 'click', at(2), view('u1', { element: 'like-button' }));
  add('analytics', 'a-u1-like', 'like.created', at(3), view('u1'));
  add('analytics', 'a-u2-view', 'view', at(5), view('u2'));
  add('analytics', 'a-u2-click', 'click', at(6), view('u2'));
  add('analytics', 'a-u3-view', 'view', at(7), view('u3'), 300_000);
  add('analytics', 'a-u4-click', 'click', at(61), view('u4'));
  add('analytics', 'a-u5-view', 'view', at(61), view('u5'));
  add('analytics', 'a-u5-like', 'like.created', at(62), view('u5'));
  add('analytics', 'a-u5-click', 'click', at(63), view('u5'));
  // A redelivery of u1's view, published 10 minutes later: the dedup view keeps the first.
  add('analytics', 'a-u1-view', 'view', at(1), view('u1'), 600_000);

  // Orders: o1 shipped; o2 paid long ago, never shipped (stuck); o3 cancelled after paying; o4 paid
  // 4 minutes ago (not stuck yet); o5 only created (published 90 s late); o6, o7 shipped.
  add('orders', 'o1-created', 'order.created', at(10), order('o1', 'c1', 1));
  add('orders', 'o1-paid', 'order.paid', at(11), order('o1', 'c1', 2));
  add('orders', 'o1-shipped', 'order.shipped', at(30), order('o1', 'c1', 3, { carrier: 'dhl' }));
  add('orders', 'o2-created', 'order.created', at(12), order('o2', 'c2', 1));
  add('orders', 'o2-paid', 'order.paid', at(13), order('o2', 'c2', 2));
  add('orders', 'o3-created', 'order.created', at(14), order('o3', 'c3', 1));
  add('orders', 'o3-paid', 'order.paid', at(15), order('o3', 'c3', 2));
  add('orders', 'o3-cancelled', 'order.cancelled', at(20), order('o3', 'c3', 3, { reason: 'customer request' }));
  add('orders', 'o4-created', 'order.created', new Date(now - 5 * 60_000), order('o4', 'c4', 1));
  add('orders', 'o4-paid', 'order.paid', new Date(now - 4 * 60_000), order('o4', 'c4', 2));
  add('orders', 'o5-created', 'order.created', at(16), order('o5', 'c5', 1), 90_000);
  add('orders', 'o6-shipped', 'order.shipped', at(40), order('o6', 'c6', 3, { carrier: 'ups', amountCents: 1000 }));
  add('orders', 'o7-shipped', 'order.shipped', at(41), order('o7', 'c7', 3, { carrier: 'dhl', amountCents: 401 }));
  // The o2 payment delivered again (a redelivery does not make it two payments).
  add('orders', 'o2-paid', 'order.paid', at(13), order('o2', 'c2', 2), 5000);

  const run = async (name: string) => (await endpoint.bigquery.query(analystQuery(name).sql))[0] as Record<string, unknown>[];

  beforeAll(async () => {
    // The documented queries name the spec's dataset (event_mesh).
    const { events, deadLetters } = await ensureWarehouse(endpoint.bigquery, spec, { project: spec.project });
    for (const topic of ['analytics', 'orders'] as const) {
      const rows = data.filter((x) => x.topic === topic).map((x) => eventRow(spec.topics[topic], x.d));
      // Redeliveries arrive after the insertId dedup window in this scenario: insert them in their own
      // requests and make their insertId unique, so they really land twice and the views must dedup.
      const seen = new Set<string>();
      for (const row of rows) {
        const copy = seen.has(row.insertId) ? { ...row, insertId: `${row.insertId}#redelivery` } : row;
        seen.add(row.insertId);
        expect((await insertBatch(events[topic], [copy])).failed).toEqual([]);
      }
    }
    const letter = (consumer: string, topic: string, reason: string, id: string) => deadLetterRow({ consumer, topic, reason, error: 'test', eventId: id });
    await insertBatch(deadLetters, [
      letter('warehouse-analytics', 'analytics', 'insert', 'x1'),
      letter('warehouse-analytics', 'analytics', 'insert', 'x2'),
      letter('processor-orders', 'orders', 'poison', 'x3'),
    ]);
  });

  it('loaded duplicates into the events tables (so the dedup views matter)', async () => {
    expect(await endpoint.count('event_mesh.analytics_events')).toBe(11);
    expect(await endpoint.count('event_mesh.analytics_events_dedup')).toBe(10);
    expect(await endpoint.count('event_mesh.orders_events_dedup')).toBe(13);
  });

  it('are all in docs/analysts.md, verbatim', () => {
    const docs = fs.readFileSync(path.resolve(__dirname, '../../docs/analysts.md'), 'utf8');
    const queries = analystQueries();
    expect(queries.map((q) => q.name)).toEqual([
      'events_per_type_per_hour',
      'funnel',
      'stuck_orders',
      'late_events',
      'shipped_by_carrier',
      'dead_letters_by_reason',
    ]);
    for (const q of queries) expect(docs).toContain(q.sql);
  });

  it('events_per_type_per_hour counts each event once per topic, type and hour', async () => {
    const expected = new Map<string, Set<string>>();
    for (const { topic, d } of data) {
      const bucket = new Date(Math.floor(Date.parse(d.event.time) / hour) * hour).toISOString();
      const key = `${bucket} ${topic} ${d.event.type}`;
      expected.set(key, (expected.get(key) ?? new Set()).add(d.event.id));
    }
    const rows = await run('events_per_type_per_hour');
    const got = rows.map((r) => `${(r.hour as { value: string }).value} ${String(r.topic)} ${String(r.event_type)} ${String(r.events)}`);
    const want = [...expected.entries()].map(([key, ids]) => `${key} ${ids.size}`).sort();
    expect(got).toEqual(want);
    expect(got).toContain(`${new Date(H).toISOString()} analytics view 3`);
  });

  it('funnel: 4 sessions viewed, 3 clicked after viewing, 1 liked after clicking', async () => {
    expect(await run('funnel')).toEqual([{ viewed: 4, clicked: 3, liked: 1, view_to_like_rate: 0.25 }]);
  });

  it('stuck_orders: only o2, paid long ago and never shipped', async () => {
    const rows = await run('stuck_orders');
    expect(rows).toEqual([
      { order_id: 'o2', customer_id: 'c2', paid_at: expect.objectContaining({ value: at(13).toISOString() }), minutes_since_paid: expect.any(Number) },
    ]);
    const minutes = Math.floor((Date.now() - at(13).getTime()) / 60_000);
    expect(rows[0].minutes_since_paid).toBeGreaterThanOrEqual(minutes - 1);
    expect(rows[0].minutes_since_paid).toBeLessThanOrEqual(minutes);
  });

  it('late_events: the events published more than a minute after they happened, latest first', async () => {
    const rows = await run('late_events');
    expect(rows.map((r) => [r.topic, r.event_id, r.event_type, r.source, r.lateness_seconds])).toEqual([
      ['analytics', 'a-u3-view', 'view', '//web', 300],
      ['orders', 'o5-created', 'order.created', '//checkout/api', 90],
    ]);
  });

  it('shipped_by_carrier reads the carrier from the JSON payload', async () => {
    expect(await run('shipped_by_carrier')).toEqual([
      { shipping_carrier: 'dhl', shipped: 2, amount: 30 },
      { shipping_carrier: 'ups', shipped: 1, amount: 10 },
    ]);
  });

  it('dead_letters_by_reason groups what the consumers gave up on', async () => {
    const rows = await run('dead_letters_by_reason');
    expect(rows.map((r) => [r.consumer, r.topic, r.reason, r.dead_letters])).toEqual([
      ['warehouse-analytics', 'analytics', 'insert', 2],
      ['processor-orders', 'orders', 'poison', 1],
    ]);
  });
});
