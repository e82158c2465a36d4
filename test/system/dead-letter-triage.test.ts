/**
 * Dead-letter triage on the whole local mesh (npm start's code, real emulators, clients and
 * services), through the commands of docs/operations.md's "Dead-letter triage", run as written (with
 * --spec of this mesh): the grouped listing across holds with owners and the triage SLA, a listing
 * by time, a paced redrive by reason with its progress bar (the processor then applies the events),
 * a purge by reason, and the audit. Every dead letter is in BigQuery's dead_letters before and after.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { listHeld } from '../../shared/consumer/dead-letter-hold';
import type { ConsumerHealth } from '../../shared/health';
import type { TopicHotKeys } from '../../shared/health/hot-keys';
import { toPubsubMessage } from '../../shared/envelope';
import { OperationsAudit } from '../../shared/operations';
import { MeshPublisher } from '../../shared/publisher';
import { eventually } from '../support/emulators';
import { startTestMesh, type TestMesh } from '../support/local-mesh';

jest.setTimeout(300_000);

let t: TestMesh;
const ROOT = path.join(__dirname, '..', '..');
const ORDERS_CONSUMERS = ['processor-orders', 'dashboard-orders', 'warehouse-orders'];

beforeAll(async () => {
  t = await startTestMesh('triage');
});

afterAll(async () => {
  await t?.close();
});

/** The example of docs/operations.md's "Dead-letter triage": its `npm run mesh -- ...` lines. */
function documentedCommands(): string[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Dead-letter triage'), doc.indexOf('## Replay'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((line) => line.startsWith('npm run mesh -- '));
}

/** Runs the documented line starting with `prefix` as `tsx tools/mesh.ts --spec <this mesh> ...`. */
async function runDocumented(prefix: string): Promise<{ stdout: string; stderr: string }> {
  const line = documentedCommands().find((l) => l === `npm run mesh -- ${prefix}` || l.startsWith(`npm run mesh -- ${prefix} `));
  if (!line) throw new Error(`docs/operations.md has no "npm run mesh -- ${prefix}" example`);
  const args = [...line.slice('npm run mesh -- '.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  const env: NodeJS.ProcessEnv = { ...process.env, MESH_OPERATOR: 'triage-test' };
  for (const name of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'BIGQUERY_EMULATOR_HOST']) delete env[name];
  return promisify(execFile)('npx', ['tsx', 'tools/mesh.ts', '--spec', t.spec.file, ...args], { cwd: ROOT, env, timeout: 120_000 });
}

const deadLetterRows = async (consumer: string) =>
  (
    await t.target.bigquery.query({
      query: `SELECT reason, event_id FROM \`${t.target.project}.${t.spec.warehouse.dataset}.dead_letters\` WHERE consumer = @consumer ORDER BY reason, event_id`,
      params: { consumer },
    })
  )[0] as { reason: string; event_id: string | null }[];

async function dashboardHealth(): Promise<ConsumerHealth[]> {
  return ((await (await fetch(`${t.mesh.serviceUrls.dashboard}/api/health`)).json()) as { consumers: ConsumerHealth[] }).consumers;
}

async function processorReceived(): Promise<number> {
  const body = (await (await fetch(`${t.mesh.serviceUrls.processor}/stats`)).json()) as { consumers: Record<string, { done: number; duplicate: number }> };
  const c = body.consumers['processor-orders'];
  return c.done + c.duplicate;
}

it('lists every hold by consumer, owner and reason; redrives by reason at a rate; purges by reason; all audited, all kept in dead_letters', async () => {
  const { pubsub } = t.target;
  const publisher = new MeshPublisher({ pubsub, spec: t.spec, source: '//triage-test' });
  // Two orders from a raw client without ce-id: poison for every orders consumer (missing-attribute).
  for (const orderId of ['raw-1', 'raw-2']) {
    const { event, orderingKey } = publisher.prepare('orders', 'order.created', { orderId, customerId: 'c', sequence: 1 });
    const { 'ce-id': _dropped, ...attributes } = toPubsubMessage(event, orderingKey).attributes;
    await pubsub.topic('orders').publishMessage({ data: Buffer.from(toPubsubMessage(event, orderingKey).data), attributes });
  }
  // Three valid orders the processor "could not" handle while it was down: Pub/Sub's forwarded copies,
  // as its dead-letter policy writes them after max attempts.
  const exhausted: string[] = [];
  for (const orderId of ['down-1', 'down-2', 'down-3']) {
    const { event, orderingKey } = publisher.prepare('orders', 'order.created', { orderId, customerId: 'c', sequence: 1 });
    const message = toPubsubMessage(event, orderingKey);
    await pubsub.topic('processor-orders-dlq').publishMessage({
      data: Buffer.from(message.data),
      attributes: {
        ...message.attributes,
        CloudPubSubDeadLetterSourceDeliveryCount: '10',
        CloudPubSubDeadLetterSourceSubscription: 'processor-orders',
        CloudPubSubDeadLetterSourceSubscriptionProject: t.target.project,
        CloudPubSubDeadLetterSourceTopicPublishTime: new Date().toISOString(),
      },
    });
    exhausted.push(event.id);
  }
  // Each consumer's dead letters reach BigQuery's dead_letters through its archive subscription.
  await eventually(
    async () => {
      const rows = await Promise.all(ORDERS_CONSUMERS.map(deadLetterRows));
      return rows[0].length === 5 && rows[1].length === 2 && rows[2].length === 2 ? true : undefined;
    },
    90_000,
    'every dead letter archived',
  );

  // The dashboard's dead-letter panel says the same: held, oldest against the SLA, top reasons.
  const hold = await eventually(
    async () => {
      const h = (await dashboardHealth()).find((c) => c.consumer === 'processor-orders')?.hold;
      return h?.held === 5 ? h : undefined;
    },
    30_000,
    'the dashboard to see 5 held',
  );
  expect(hold).toMatchObject({
    triageSlaSeconds: 4 * 3600,
    pastSla: false,
    topReasons: [
      { reason: 'max-delivery-attempts', count: 3 },
      { reason: 'missing-attribute', count: 2 },
    ],
  });

  // The grouped listing: one line per consumer and reason, with its owner, within the 4h SLA.
  const triage = (await runDocumented('dead-letters')).stdout;
  for (const consumer of ORDERS_CONSUMERS) {
    const owner = t.spec.consumers[consumer].owner!;
    expect(triage).toMatch(new RegExp(`${consumer}\\s*│\\s*${owner}\\s*│\\s*missing-attribute\\s*│\\s*2\\s*│.*within SLA`));
  }
  expect(triage).toMatch(/processor-orders\s*│\s*commerce\s*│\s*max-delivery-attempts\s*│\s*3\s*│/);
  expect(triage).toContain('9 held in 3 consumer(s)');

  const recent = (await runDocumented('dead-letters processor-orders --since')).stdout;
  for (const id of exhausted) expect(recent).toContain(id);
  expect(recent).toContain('5 held');

  // Redrive what failed while the processor was down, paced, with a progress bar; the processor applies them.
  const before = await processorReceived();
  const redrive = await runDocumented('dead-letters processor-orders --redrive');
  expect(redrive.stdout).toContain('3 redriven to processor-orders only');
  expect(redrive.stderr).toMatch(/redrive \[.*\] 3\/3/);
  await eventually(async () => ((await processorReceived()) >= before + 3 ? true : undefined), 60_000, 'the processor to take the redriven orders');

  // Junk on the local purge-notice topic is ignored: the monitor still takes the real notice below.
  for (const junk of ['null', '{"consumer":7}', 'not json']) await pubsub.topic('mesh-hold-exits').publishMessage({ data: Buffer.from(junk) });

  // Purge the understood poison: the hold is empty, the rows stay.
  const purge = await runDocumented('dead-letters processor-orders --purge');
  expect(purge.stdout).toContain("2 purged from processor-orders's hold");
  expect(await listHeld(pubsub, t.spec.consumers['processor-orders'], { idleMs: 1500 })).toEqual([]);
  expect((await deadLetterRows('processor-orders')).map((r) => r.reason)).toEqual([
    'max-delivery-attempts',
    'max-delivery-attempts',
    'max-delivery-attempts',
    'missing-attribute',
    'missing-attribute',
  ]);
  // The dashboard learns of the redrive (its tap) and the purge (announced): nothing held.
  await eventually(
    async () => ((await dashboardHealth()).find((c) => c.consumer === 'processor-orders')?.hold?.held === 0 ? true : undefined),
    30_000,
    'the dashboard to see the hold emptied',
  );
  // The other consumers' holds are untouched.
  expect(await listHeld(pubsub, t.spec.consumers['dashboard-orders'], { idleMs: 1500 })).toHaveLength(2);

  // Both recorded: who, why, what, the outcome.
  const audit = (await runDocumented('audit')).stdout;
  expect(audit).toMatch(/purge/);
  expect(audit).toMatch(/redrive/);
  const steps = await new OperationsAudit(t.target.bigquery, t.spec, t.target.project).latest({ consumer: 'processor-orders' });
  const completed = (operation: string) => steps.find((s) => s.operation === operation && s.state === 'completed');
  expect(completed('redrive')).toMatchObject({
    owner: 'orders-oncall',
    intent: 'processor was down 04:10-04:20',
    operator: expect.stringContaining('triage-test'),
    selection: { reasons: ['max-delivery-attempts'], perSecond: 50 },
    affected: 3,
  });
  expect(completed('redrive')!.affectedEvents!.sort()).toEqual([...exhausted].sort());
  expect(completed('purge')).toMatchObject({ selection: { reasons: ['missing-attribute'] }, affected: 2, detail: 'copies stay in dead_letters' });
});

it('refuses a purge nobody answers for, and a redrive and a purge together', async () => {
  const fail = (args: string[]) =>
    promisify(execFile)('npx', ['tsx', 'tools/mesh.ts', '--spec', t.spec.file, 'dead-letters', ...args], { cwd: ROOT, timeout: 60_000 }).then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
  expect(await fail(['dashboard-orders', '--purge', '--owner', 'x'])).toMatch(/needs --intent/);
  expect(await fail(['dashboard-orders', '--purge', '--redrive', '--owner', 'x', '--intent', 'y'])).toMatch(/exclude each other/);
  expect(await fail(['--purge', '--owner', 'x', '--intent', 'y'])).toMatch(/acts on one consumer's hold/);
  expect(await fail(['dashboard-orders', '--since', 'yesterday'])).toMatch(/neither an RFC 3339 time nor a duration/);
  expect(await listHeld(t.target.pubsub, t.spec.consumers['dashboard-orders'], { idleMs: 1500 })).toHaveLength(2);
});

it('shows the hottest ordering keys of a topic on the dashboard and in mesh status', async () => {
  const publisher = new MeshPublisher({ pubsub: t.target.pubsub, spec: t.spec, source: '//triage-test' });
  const sends: Promise<unknown>[] = [];
  for (let i = 1; i <= 30; i++) sends.push(publisher.publish('orders', 'order.created', { orderId: 'o-hot', customerId: 'c', sequence: i }));
  for (let i = 1; i <= 10; i++) sends.push(publisher.publish('orders', 'order.created', { orderId: `o-cold-${i}`, customerId: 'c', sequence: 1 }));
  await Promise.all(sends);
  const orders = await eventually(
    async () => {
      const body = (await (await fetch(`${t.mesh.serviceUrls.dashboard}/api/hot-keys`)).json()) as { topics: TopicHotKeys[] };
      const topic = body.topics.find((x) => x.topic === 'orders');
      return topic && topic.events >= 40 ? topic : undefined;
    },
    60_000,
    'the dashboard to count the orders',
  );
  expect(orders.keys[0]).toMatchObject({ key: 'o-hot', events: 30, share: 0.75 });
  expect(orders.keys[0].perSecond).toBeCloseTo(30 / orders.windowSeconds, 5);
  const status = (await runDocumented('status')).stdout;
  expect(status).toMatch(/hot keys of orders \(last 60 s, 40 events\): o-hot 75% 0\.5\/s/);
});
