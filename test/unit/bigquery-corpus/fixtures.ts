/**
 * The corpus's warehouse: a few tables shaped like the mesh's BigQuery sink, kept here as plain
 * TypeScript data so that every expected result can be derived from these rows by hand or by plain
 * code (never from the endpoint's own output).
 *
 * Dataset `shop` in project `test-project`:
 *   events  flat columns: redeliveries (e03, e09 twice), NULLs, timestamps around midnight UTC and
 *           Berlin, month ends, Sunday/Monday, the 2024 leap day and the 2023/2024 year boundary.
 *   orders  one row per order; o7 belongs to a user that is not in `users`.
 *   users   five users, some NULL columns.
 *   carts   the REPEATED/RECORD columns (tags, device, items); kept apart from `events` so the flat
 *           cases do not depend on nested-column support.
 *
 * Calendar facts used throughout: 2023-12-31 Sunday, 2024-01-01 Monday, 2024-01-31 Wednesday,
 * 2024-02-28 Wednesday, 2024-02-29 Thursday, 2024-03-01 Friday, 2024-03-03 Sunday, 2024-03-04
 * Monday, 2024-03-31 Sunday (Berlin switches to CEST, UTC+2, at 01:00 UTC), 2024-12-31 Tuesday.
 */
import type { Dataset } from '@google-cloud/bigquery';
import { seeds } from './event-seeds';

export const PROJECT = 'test-project';
export const DATASET = 'shop';

export interface EventRow {
  event_id: string;
  type: string;
  subject: string | null;
  user_id: string | null;
  /** ISO 8601, UTC, 'Z'. */
  ts: string;
  received_at: string;
  /** NUMERIC as decimal text. */
  amount: string | null;
  price: number | null;
  qty: number | null;
  payload: unknown;
  /** JSON text in a STRING column. */
  attrs: string | null;
  /** DATE(ts) in UTC, except e18 (NULL). */
  day: string | null;
  /** ts as a Europe/Berlin wall-clock DATETIME, 'YYYY-MM-DDTHH:MM:SS[.ffffff]'. */
  local_dt: string | null;
}

/** Berlin wall-clock time of a UTC instant, as a DATETIME text with the instant's microseconds. */
export function berlin(iso: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Berlin',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const p = (type: string) => parts.find((x) => x.type === type)!.value;
  const frac = /\.(\d+)Z$/.exec(iso)?.[1];
  return `${p('year')}-${p('month')}-${p('day')}T${p('hour')}:${p('minute')}:${p('second')}${frac ? `.${frac}` : ''}`;
}

/** Adds seconds to an ISO instant, keeping its microseconds. */
function addSeconds(iso: string, seconds: number): string {
  const frac = /\.(\d+)Z$/.exec(iso)?.[1];
  const whole = new Date(new Date(iso.replace(/\.\d+Z$/, 'Z')).getTime() + seconds * 1000).toISOString().replace('.000Z', '');
  return `${whole}${frac ? `.${frac}` : ''}Z`;
}

export const events: EventRow[] = seeds.map(({ delay, noDay, ...e }) => ({
  ...e,
  received_at: addSeconds(e.ts, delay ?? 2),
  day: noDay ? null : e.ts.slice(0, 10),
  local_dt: noDay ? null : berlin(e.ts),
}));

/** One row per event_id: the first delivery. */
export const uniqueEvents: EventRow[] = events.filter((e, i) => events.findIndex((x) => x.event_id === e.event_id) === i);

export interface OrderRow {
  order_id: string;
  user_id: string;
  created_at: string;
  status: string;
  total: string | null;
  country: string | null;
}

export const orders: OrderRow[] = [
  { order_id: 'o1', user_id: 'u1', created_at: '2024-02-29T00:10:00.123456Z', status: 'refunded', total: '19.99', country: 'DE' },
  { order_id: 'o2', user_id: 'u2', created_at: '2024-03-01T01:00:00Z', status: 'paid', total: '42.00', country: 'FR' },
  { order_id: 'o3', user_id: 'u3', created_at: '2024-03-04T00:20:00Z', status: 'paid', total: '5.50', country: 'DE' },
  { order_id: 'o4', user_id: 'u4', created_at: '2024-01-01T00:45:00Z', status: 'paid', total: '100.50', country: null },
  { order_id: 'o5', user_id: 'u5', created_at: '2024-01-31T12:40:00Z', status: 'paid', total: '29.00', country: 'US' },
  { order_id: 'o6', user_id: 'u3', created_at: '2024-12-31T23:59:59Z', status: 'pending', total: '12.25', country: 'DE' },
  { order_id: 'o7', user_id: 'u6', created_at: '2024-02-10T09:00:00Z', status: 'cancelled', total: null, country: 'US' },
];

export interface UserRow {
  user_id: string;
  name: string;
  signup_date: string;
  country: string | null;
  email: string | null;
  plan: string | null;
}

export const users: UserRow[] = [
  { user_id: 'u1', name: 'Ada Lovelace', signup_date: '2023-11-05', country: 'DE', email: 'ada@example.com', plan: 'pro' },
  { user_id: 'u2', name: 'Bob Martin', signup_date: '2024-02-29', country: 'FR', email: 'bob.martin@example.fr', plan: 'free' },
  { user_id: 'u3', name: 'Chloé Dubois', signup_date: '2024-03-03', country: 'DE', email: null, plan: 'free' },
  { user_id: 'u4', name: 'Dan', signup_date: '2023-12-31', country: 'US', email: 'DAN@Example.COM', plan: 'pro' },
  { user_id: 'u5', name: 'eve', signup_date: '2024-01-15', country: null, email: 'eve@example.org', plan: null },
];

export interface CartRow {
  cart_id: string;
  user_id: string;
  created_at: string;
  tags: string[];
  device: { os: string | null; version: number | null } | null;
  items: { sku: string; qty: number; price: number }[];
}

export const carts: CartRow[] = [
  {
    cart_id: 'c1',
    user_id: 'u1',
    created_at: '2024-02-28T23:55:30Z',
    tags: ['mobile', 'promo'],
    device: { os: 'ios', version: 17 },
    items: [{ sku: 'p1', qty: 1, price: 19.99 }],
  },
  {
    cart_id: 'c2',
    user_id: 'u2',
    created_at: '2024-02-29T23:15:00Z',
    tags: ['web'],
    device: { os: 'android', version: 14 },
    items: [
      { sku: 'p3', qty: 1, price: 42 },
      { sku: 'p8', qty: 2, price: 3.5 },
    ],
  },
  {
    cart_id: 'c3',
    user_id: 'u3',
    created_at: '2024-03-04T00:00:00Z',
    tags: [],
    device: { os: 'ios', version: 16 },
    items: [
      { sku: 'p4', qty: 2, price: 2.75 },
      { sku: 'p9', qty: 1, price: 10 },
      { sku: 'p1', qty: 1, price: 19.99 },
    ],
  },
  { cart_id: 'c4', user_id: 'u4', created_at: '2024-01-01T00:30:00Z', tags: ['promo', 'vip', 'web'], device: null, items: [] },
  {
    cart_id: 'c5',
    user_id: 'u5',
    created_at: '2024-01-31T12:10:00Z',
    tags: ['mobile'],
    device: { os: 'android', version: null },
    items: [{ sku: 'p6', qty: 4, price: 7.25 }],
  },
];

type Field = { name: string; type: string; mode?: string; fields?: Field[] };

export const schemas: Record<string, Field[]> = {
  events: [
    { name: 'event_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'type', type: 'STRING' },
    { name: 'subject', type: 'STRING' },
    { name: 'user_id', type: 'STRING' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'received_at', type: 'TIMESTAMP' },
    { name: 'amount', type: 'NUMERIC' },
    { name: 'price', type: 'FLOAT64' },
    { name: 'qty', type: 'INT64' },
    { name: 'payload', type: 'JSON' },
    { name: 'attrs', type: 'STRING' },
    { name: 'day', type: 'DATE' },
    { name: 'local_dt', type: 'DATETIME' },
  ],
  orders: [
    { name: 'order_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'user_id', type: 'STRING' },
    { name: 'created_at', type: 'TIMESTAMP' },
    { name: 'status', type: 'STRING' },
    { name: 'total', type: 'NUMERIC' },
    { name: 'country', type: 'STRING' },
  ],
  users: [
    { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'name', type: 'STRING' },
    { name: 'signup_date', type: 'DATE' },
    { name: 'country', type: 'STRING' },
    { name: 'email', type: 'STRING' },
    { name: 'plan', type: 'STRING' },
  ],
  carts: [
    { name: 'cart_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'user_id', type: 'STRING' },
    { name: 'created_at', type: 'TIMESTAMP' },
    { name: 'tags', type: 'STRING', mode: 'REPEATED' },
    {
      name: 'device',
      type: 'RECORD',
      fields: [
        { name: 'os', type: 'STRING' },
        { name: 'version', type: 'INT64' },
      ],
    },
    {
      name: 'items',
      type: 'RECORD',
      mode: 'REPEATED',
      fields: [
        { name: 'sku', type: 'STRING' },
        { name: 'qty', type: 'INT64' },
        { name: 'price', type: 'FLOAT64' },
      ],
    },
  ],
};

const wireRows: Record<string, Record<string, unknown>[]> = {
  events: events.map((e) => ({ ...e, payload: e.payload === null ? null : JSON.stringify(e.payload) })),
  orders: orders.map((o) => ({ ...o })),
  users: users.map((u) => ({ ...u })),
  carts: carts.map((c) => ({ ...c })),
};

/** Creates and loads every table; a table that cannot be created or loaded is reported, not thrown. */
export async function createFixtures(dataset: Dataset): Promise<Record<string, string>> {
  const failures: Record<string, string> = {};
  for (const [name, fields] of Object.entries(schemas)) {
    try {
      const [table] = await dataset.createTable(name, { schema: { fields } });
      // No insertIds: the redelivered rows must both land.
      await table.insert(wireRows[name], { raw: false, createInsertId: false });
    } catch (error) {
      const e = error as { message?: string; errors?: { errors?: { message?: string }[] }[] };
      const rowErrors = (e.errors ?? []).flatMap((r) => r.errors ?? []).map((x) => x.message);
      failures[name] = [e.message ?? String(error), ...rowErrors.slice(0, 3)].join('; ');
    }
  }
  return failures;
}
