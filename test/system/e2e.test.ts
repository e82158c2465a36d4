/**
 * End to end, through the same start path as `npm start` (startLocalMesh): emulators, local
 * BigQuery, the applied spec and the three services as processes. A known mix is published —
 * N unique events, duplicates, two orders with an impossible transition, three poison events per
 * topic — and once the backlog drains every part must agree: dashboard totals, processor projections
 * and anomalies, the warehouse view and raw table, the dead-letter holds, and `mesh status`.
 *
 * The spec is the repository's mesh.yaml with only the local ports, the data folder and the
 * project changed, so the test runs beside a developer's `npm start`.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BigQuery } from '@google-cloud/bigquery';
import type { PubSub, Message } from '@google-cloud/pubsub';
import { emulatorFirestore, emulatorPubSub } from '../../shared/emulators';
import { newEventId } from '../../shared/envelope';
import { topicSchemas } from '../../shared/schemas';
import { startLocalMesh, type LocalMesh } from '../../shared/local';
import { consumerResources, loadSpec, type MeshSpec } from '../../shared/spec';
import { TrafficSender } from '../../tools/load/sender';
import type { Send } from '../../tools/load/traffic';
import type { MeshStatus } from '../../tools/commands/status';
import { eventually } from '../support/emulators';
import { REPO_ROOT, writeRepoSpecWithFreePorts } from '../support/specs';

jest.setTimeout(300_000);

const USERS = 40;
const POSTS = 8;
const ANALYTICS_UNIQUE = 240;
const COMPLETE_ORDERS = 12;
const DUPLICATES = 30;

let dir: string;
let spec: MeshSpec;
let mesh: LocalMesh;
let pubsub: PubSub;

/** The known mix. */
function buildSends(): { sends: Send[]; unique: { analytics: number; orders: number }; anomalies: Record<string, string> } {
  const sends: Send[] = [];
  // Raw-client producers send every schema field (docs/producers.md): fill the defaults in for them.
  const complete = (topic: Send['topic'], data: Record<string, unknown>) => topicSchemas(spec, topic).read(data);
  const event = (topic: Send['topic'], type: string, data: Record<string, unknown>, raw = false): Send => ({
    kind: 'event',
    topic,
    type,
    id: newEventId(),
    data: raw ? complete(topic, data) : data,
    raw,
  });
  const analyticsTypes = ['view', 'click', 'like.created'];
  for (let i = 0; i < ANALYTICS_UNIQUE; i++) {
    const type = analyticsTypes[i % 3];
    sends.push(
      event(
        'analytics',
        type,
        { userId: `user-${i % USERS}`, page: `/posts/post-${i % POSTS}`, ...(type === 'like.created' ? { postId: `post-${i % POSTS}` } : {}) },
        i % 5 === 0,
      ),
    );
  }
  const order = (orderId: string, sequence: number) => ({
    orderId,
    customerId: `c-${orderId}`,
    sequence,
    amountCents: 1000 + sequence,
    currency: 'EUR',
    itemCount: 1,
  });
  for (let o = 0; o < COMPLETE_ORDERS; o++) {
    ['order.created', 'order.paid', 'order.shipped'].forEach((type, step) => sends.push(event('orders', type, order(`order-${o}`, step + 1), o % 4 === 0)));
  }
  // Two orders with an impossible transition: shipped before paid, paid after cancelled.
  sends.push(event('orders', 'order.created', order('order-unpaid', 1)), event('orders', 'order.shipped', order('order-unpaid', 2)));
  sends.push(
    event('orders', 'order.created', order('order-cancelled', 1)),
    event('orders', 'order.cancelled', { ...order('order-cancelled', 2), reason: 'changed mind' }),
    event('orders', 'order.paid', order('order-cancelled', 3)),
  );
  const unique = { analytics: ANALYTICS_UNIQUE, orders: COMPLETE_ORDERS * 3 + 5 };
  // Duplicates: the same event ids again (republished, new message ids).
  const originals = sends.slice();
  for (let i = 0; i < DUPLICATES; i++) sends.push({ ...originals[(i * 7) % originals.length], kind: 'duplicate' });
  // Poison: valid data, broken envelope, three per topic.
  for (const topic of ['analytics', 'orders'] as const) {
    const data = complete(topic, topic === 'analytics' ? { userId: 'poison', page: '/' } : order(`order-poison-${topic}`, 1));
    const type = topic === 'analytics' ? 'click' : 'order.created';
    for (const poison of ['missing-id', 'unknown-type', 'bad-time'] as const)
      sends.push({ kind: 'poison', topic, type, id: newEventId(), data, raw: true, poison });
  }
  return { sends, unique, anomalies: { 'order-unpaid': 'shipped before paid', 'order-cancelled': 'order.paid after the order was cancelled' } };
}

async function drainHold(subscription: string, expected: number): Promise<Message[]> {
  const sub = pubsub.subscription(subscription);
  const seen: Message[] = [];
  sub.on('message', (m: Message) => {
    seen.push(m);
    m.ack();
  });
  try {
    await eventually(async () => (seen.length >= expected ? true : undefined), 30000, `${expected} dead letters on ${subscription}`);
    await new Promise((r) => setTimeout(r, 1500)); // nothing more arrives
  } finally {
    await sub.close();
  }
  return seen;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-e2e-'));
  spec = loadSpec(await writeRepoSpecWithFreePorts(dir, (doc) => (doc.project = `e2e-${process.pid}`)));
  mesh = await startLocalMesh(spec, { fresh: true });
  pubsub = emulatorPubSub(mesh.pubsubHost, spec.project);
});

afterAll(async () => {
  await pubsub?.close();
  await mesh?.stop().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

it('runs the whole mesh: every consumer sees each event once, poison is dead-lettered, status agrees', async () => {
  const { sends, unique, anomalies } = buildSends();
  const sender = new TrafficSender(pubsub, spec, '//e2e');
  for (const send of sends) await sender.send(send);
  await sender.flush();
  const poisonPerTopic = 3;

  // Drained: every push/pull consumer has handled each unique event of its topic and dead-lettered the poison.
  const status = (): Promise<MeshStatus> => import('../../tools/commands/status').then((m) => m.readMeshStatus(spec, mesh.serviceUrls));
  await eventually(
    async () => {
      const s = await status();
      const pending = s.consumers
        .filter((c) => c.delivery !== 'bigquery')
        .filter((c) => {
          const handled = (c.counters?.done ?? 0) + (c.counters?.duplicate ?? 0);
          const wanted = unique[c.topic as 'analytics' | 'orders'];
          return handled < wanted || (c.counters?.deadLettered ?? 0) < poisonPerTopic;
        });
      return pending.length === 0 ? s : undefined;
    },
    180000,
    'every consumer to drain',
  );

  // Processor: projections and exactly the two anomalies.
  const base = mesh.serviceUrls.processor;
  for (let o = 0; o < COMPLETE_ORDERS; o++) {
    const { order, anomalies: found } = await getJson<{ order: { state: string; lastSequence: number }; anomalies: unknown[] }>(`${base}/orders/order-${o}`);
    expect(order).toMatchObject({ state: 'shipped', lastSequence: 3 });
    expect(found).toEqual([]);
  }
  for (const [orderId, reason] of Object.entries(anomalies)) {
    const { anomalies: found } = await getJson<{ anomalies: { reason: string }[] }>(`${base}/orders/${orderId}`);
    expect(found.map((a) => a.reason)).toEqual([expect.stringContaining(reason)]);
  }

  // Warehouse: the dedup view has each unique event once; the raw archive at most once per event id.
  const bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: mesh.bigqueryUrl });
  const dataset = spec.warehouse.dataset;
  await eventually(
    async () => {
      const [[row]] = await bigquery.query(`SELECT COUNT(*) AS n FROM \`${spec.project}.${dataset}.analytics_events_dedup\``);
      return Number(row.n) === unique.analytics ? true : undefined;
    },
    60000,
    'the analytics view to hold every unique event',
  );
  const [[ordersView]] = await bigquery.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS ids FROM \`${spec.project}.${dataset}.orders_events_dedup\``);
  expect({ n: Number(ordersView.n), ids: Number(ordersView.ids) }).toEqual({ n: unique.orders, ids: unique.orders });
  const archive = Object.values(spec.consumers).find((c) => c.delivery === 'bigquery')!;
  await eventually(
    async () => {
      const [[raw]] = await bigquery.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT message_id) AS ids FROM \`${spec.project}.${dataset}.${archive.table}\``);
      // Every orders message once: unique + duplicates of orders + poison (a BigQuery subscription writes raw messages).
      return Number(raw.n) > 0 && Number(raw.n) === Number(raw.ids) && Number(raw.n) >= unique.orders ? true : undefined;
    },
    60000,
    `the raw archive ${archive.table}`,
  );

  // Dead-letter holds: exactly the three poison events of the consumer's topic, each with a reason.
  for (const consumer of Object.values(spec.consumers).filter((c) => c.delivery !== 'bigquery')) {
    const held = await drainHold(consumerResources(consumer).deadLetterHold, poisonPerTopic);
    expect(held).toHaveLength(poisonPerTopic);
    expect(held.map((m) => m.attributes.reason).sort()).toEqual(expect.arrayContaining([expect.any(String)]));
    for (const m of held) expect(m.attributes).toMatchObject({ consumer: consumer.name, reason: expect.any(String), error: expect.any(String) });
  }

  // Dashboard: totals equal N unique.
  const expectedTotals = { analytics: unique.analytics, orders: unique.orders };
  const dashboard = await eventually(
    async () => {
      const totals = await dashboardTotals(mesh.serviceUrls.dashboard);
      return totals.analytics >= unique.analytics && totals.orders >= unique.orders ? totals : undefined;
    },
    30000,
    'dashboard totals',
  );
  expect(dashboard).toEqual(expectedTotals);

  // `mesh status --json` (the CLI, as a user runs it) agrees with all of it.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', '--spec', spec.file, 'status', '--json'], {
    cwd: REPO_ROOT,
  });
  const cli = JSON.parse(stdout) as MeshStatus;
  for (const c of cli.consumers.filter((x) => x.delivery !== 'bigquery')) {
    const wanted = unique[c.topic as 'analytics' | 'orders'];
    // The warehouse writes republished duplicates again and BigQuery drops them by insertId, so it counts them as done.
    if (c.service === 'warehouse') expect(c.counters!.done).toBeGreaterThanOrEqual(wanted);
    else expect(c.counters!.done).toBe(wanted);
    expect(c.counters!.deadLettered).toBe(poisonPerTopic);
    expect(c.health).toMatchObject({ backlog: 0, deadLettered: poisonPerTopic });
  }
  // The raw archive (drained by the warehouse locally) takes every orders message as it is, poison included.
  const raw = cli.consumers.find((x) => x.delivery === 'bigquery')!;
  expect(raw.counters!.done).toBeGreaterThanOrEqual(unique.orders + poisonPerTopic);
  expect(raw.health).toMatchObject({ backlog: 0, deadLettered: 0 });
});

/** Events counted by the dashboard per topic over the last hours' windows, from its JSON API. */
async function dashboardTotals(url: string): Promise<Record<string, number>> {
  const since = new Date(Date.now() - 3 * 3600_000).toISOString();
  const { windows } = await getJson<{ windows: { topics: Record<string, number> }[] }>(`${url}/api/windows?granularity=hour&since=${since}`);
  const totals: Record<string, number> = {};
  for (const w of windows) for (const [topic, n] of Object.entries(w.topics)) totals[topic] = (totals[topic] ?? 0) + n;
  return totals;
}

it('keeps local data across a restart (Firestore export, DuckDB file) unless --fresh', async () => {
  await pubsub.close();
  await mesh.stop();
  mesh = await startLocalMesh(spec, { services: false });
  pubsub = emulatorPubSub(mesh.pubsubHost, spec.project);
  const firestore = withFirestoreHost(mesh.firestoreHost, () => emulatorFirestore(mesh.firestoreHost, spec.project));
  try {
    expect((await firestore.doc('orders/order-0').get()).get('state')).toBe('shipped');
  } finally {
    await firestore.terminate();
  }
  const bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: mesh.bigqueryUrl });
  const [[row]] = await bigquery.query(`SELECT COUNT(*) AS n FROM \`${spec.project}.${spec.warehouse.dataset}.analytics_events_dedup\``);
  expect(Number(row.n)).toBe(ANALYTICS_UNIQUE);
  await pubsub.close();
  await mesh.stop();
  mesh = await startLocalMesh(spec, { services: false, fresh: true });
  pubsub = emulatorPubSub(mesh.pubsubHost, spec.project);
  const empty = withFirestoreHost(mesh.firestoreHost, () => emulatorFirestore(mesh.firestoreHost, spec.project));
  try {
    expect((await empty.doc('orders/order-0').get()).exists).toBe(false);
  } finally {
    await empty.terminate();
  }
});

/** The Firestore client reads FIRESTORE_EMULATOR_HOST (the test run's emulator) at construction: point it at the mesh's. */
function withFirestoreHost<T>(hostPort: string, make: () => T): T {
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = hostPort;
  try {
    return make();
  } finally {
    process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}
