/**
 * Pause and resume on the whole local mesh (npm start's code, real emulators, clients and services):
 * the processor's orders consumer is paused, 1,000 orders are published, its backlog grows while
 * the dashboard and the warehouse keep up, the processor restarted meanwhile still pulls nothing;
 * after resume every order reaches its right final state. The pause, status, resume and audit are
 * the commands of docs/operations.md's example, run as written (with --spec of this mesh). A push
 * consumer (through the local push relay) pauses the same way. Every step is in operations_audit.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { firestorePaths } from '../../shared/firestore';
import { auditedPause, auditedResume, OperationsAudit, readControl, type PauseTarget } from '../../shared/operations';
import { MeshPublisher } from '../../shared/publisher';
import { readMeshStatus } from '../../tools/commands/status';
import { eventually } from '../support/emulators';
import { startTestMesh, type TestMesh } from '../support/local-mesh';

jest.setTimeout(600_000);

const ORDERS = 1000;
/** Lifecycles by i % 4, and the state each ends in. */
const LIFECYCLES: [string[], string][] = [
  [['order.created', 'order.paid', 'order.shipped'], 'shipped'],
  [['order.created', 'order.cancelled'], 'cancelled'],
  [['order.created', 'order.paid'], 'paid'],
  [['order.created'], 'created'],
];
const EVENTS = Array.from({ length: ORDERS }, (_, i) => LIFECYCLES[i % 4][0].length).reduce((a, b) => a + b, 0);

let t: TestMesh;
let where: PauseTarget;
let audit: OperationsAudit;
const who = { owner: 'orders-oncall', intent: 'orders DB maintenance', operator: 'pause-test' };

beforeAll(async () => {
  t = await startTestMesh('pause');
  audit = new OperationsAudit(t.target.bigquery, t.spec, t.target.project);
  where = { pubsub: t.target.pubsub, firestore: t.target.firestore, audit };
});

afterAll(async () => {
  await t?.close();
});

async function stats(service: string): Promise<Record<string, { received: number; done: number; duplicate: number }>> {
  const response = await fetch(`${t.mesh.serviceUrls[service]}/stats`);
  return ((await response.json()) as { consumers: Record<string, { received: number; done: number; duplicate: number }> }).consumers;
}

async function readyz(service: string): Promise<{ ready: boolean; paused?: string[] }> {
  return (await (await fetch(`${t.mesh.serviceUrls[service]}/readyz`)).json()) as { ready: boolean; paused?: string[] };
}

const handled = (c: { done: number; duplicate: number } | undefined) => (c ? c.done + c.duplicate : 0);

const ROOT = path.join(__dirname, '..', '..');
/** The example of docs/operations.md's "Pause and resume": its `npm run mesh -- ...` lines. */
function documentedCommands(): string[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Pause and resume'), doc.indexOf('## Dead-letter triage'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((line) => line.startsWith('npm run mesh -- '));
}

/** Runs one documented line as `tsx tools/mesh.ts --spec <this mesh> ...`, against this mesh only. */
async function runDocumented(verb: string): Promise<string> {
  const line = documentedCommands().find((l) => l.startsWith(`npm run mesh -- ${verb} `) || l === `npm run mesh -- ${verb}`);
  if (!line) throw new Error(`docs/operations.md has no "npm run mesh -- ${verb}" example`);
  const args = [...line.slice('npm run mesh -- '.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  // The mesh's own emulators, from its spec: not the ones the test run points these variables at.
  const env: NodeJS.ProcessEnv = { ...process.env, MESH_OPERATOR: who.operator };
  for (const name of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'BIGQUERY_EMULATOR_HOST']) delete env[name];
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'tools/mesh.ts', '--spec', t.spec.file, ...args], { cwd: ROOT, env, timeout: 120_000 });
  return stdout;
}

it('refuses a pause nobody answers for, and a BigQuery subscription', async () => {
  const consumer = t.spec.consumers['processor-orders'];
  await expect(auditedPause(where, { consumer, operator: 'x', intent: 'why' })).rejects.toThrow(/needs --owner/);
  await expect(auditedPause(where, { consumer: t.spec.consumers['archive-orders'], ...who })).rejects.toThrow(/BigQuery subscription/);
  expect(await readControl(t.target.firestore, 'processor-orders')).toBeUndefined();
});

it('pauses the orders consumer only: its backlog grows while the dashboard and warehouse keep up; after resume every order ends right', async () => {
  const consumer = t.spec.consumers['processor-orders'];
  expect(await runDocumented('pause')).toContain('processor-orders paused');
  expect(await readControl(t.target.firestore, 'processor-orders')).toMatchObject({
    paused: true,
    owner: 'orders-oncall',
    intent: 'orders DB maintenance until 14:00',
  });
  await expect(auditedPause(where, { consumer, ...who })).rejects.toThrow(/already paused/);
  // The processor follows its control within a moment, and stays ready: idle on purpose is not broken.
  await eventually(async () => ((await readyz('processor')).paused?.includes('processor-orders') ? true : undefined), 30_000, 'the processor paused');
  expect((await readyz('processor')).ready).toBe(true);
  const before = (await stats('processor'))['processor-orders'].received;

  const publisher = new MeshPublisher({ pubsub: t.target.pubsub, spec: t.spec, source: '//pause-test' });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < ORDERS; i++)
    for (const [sequence, type] of LIFECYCLES[i % 4][0].entries())
      sends.push(
        publisher.publish('orders', type, { orderId: `pause-${i}`, customerId: 'c', sequence: sequence + 1, amountCents: 500, carrier: 'dhl', reason: 'r' }),
      );
  await Promise.all(sends);

  // The others of the topic keep up; the paused one receives nothing, its backlog holds everything.
  await eventually(
    async () => {
      const [dashboard, warehouse] = await Promise.all([stats('dashboard'), stats('warehouse')]);
      return handled(dashboard['dashboard-orders']) >= EVENTS && handled(warehouse['warehouse-orders']) >= EVENTS ? true : undefined;
    },
    180_000,
    'the dashboard and the warehouse handled every order event',
  );
  await eventually(
    async () => {
      const health = (await readMeshStatus(t.spec, t.mesh.serviceUrls)).consumers.find((c) => c.consumer === 'processor-orders')?.health;
      return health && health.backlog >= EVENTS ? health : undefined;
    },
    60_000,
    "the paused consumer's backlog holding every event",
  );
  expect((await stats('processor'))['processor-orders'].received).toBe(before);

  // A restart while paused pulls nothing either: the service reads its control before it pulls.
  const processor = t.mesh.services.find((s) => s.name === 'processor')!;
  process.kill(-processor.pid, 'SIGKILL');
  await eventually(() => (processor.restarts === 1 && processor.state === 'running' ? true : undefined), 60_000, 'the processor restarted');
  await eventually(async () => ((await readyz('processor')).paused?.includes('processor-orders') ? true : undefined), 30_000, 'paused after the restart');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect((await stats('processor'))['processor-orders'].received).toBe(0);

  // mesh status shows it paused, by whom and why, with the resume command; the dashboard's health says the same.
  const status = await eventually(
    async () => {
      const out = await runDocumented('status');
      return /processor-orders: PAUSED since .* by orders-oncall: orders DB maintenance until 14:00/.test(out) ? out : undefined;
    },
    60_000,
    'mesh status showing the pause',
  );
  expect(status).toContain('resume: npm run mesh -- resume processor-orders');
  const health = (await readMeshStatus(t.spec, t.mesh.serviceUrls)).consumers.find((c) => c.consumer === 'processor-orders')?.health;
  expect(health).toMatchObject({ state: 'paused', paused: { owner: 'orders-oncall' }, bufferAtRisk: false, retentionSeconds: 7 * 86400 });
  expect(await runDocumented('resume')).toContain('processor-orders resumed');
  expect((await readControl(t.target.firestore, 'processor-orders'))?.paused).toBe(false);
  // Every order reaches the state its lifecycle gives, in order.
  const refs = Array.from({ length: ORDERS }, (_, i) => t.target.firestore.doc(firestorePaths.order(`pause-${i}`)));
  await eventually(
    async () => {
      const docs = await t.target.firestore.getAll(...refs);
      return docs.every((d, i) => d.get('state') === LIFECYCLES[i % 4][1]) ? true : undefined;
    },
    240_000,
    'every order in its final state',
  );
  const anomalies = await t.target.firestore.collectionGroup('anomalies').where('orderId', '>=', 'pause-').where('orderId', '<', 'pause.').count().get();
  expect(anomalies.data().count).toBe(0);

  // Who, why, what and the outcome, newest first.
  const steps = (await audit.latest({ consumer: 'processor-orders' })).map((r) => [r.operation, r.state, r.owner, r.intent, r.operator]);
  const intent = 'orders DB maintenance until 14:00';
  expect(steps).toEqual(
    expect.arrayContaining([
      ['pause', 'started', 'orders-oncall', intent, expect.stringContaining(who.operator)],
      ['pause', 'completed', 'orders-oncall', intent, expect.stringContaining(who.operator)],
      ['resume', 'started', 'orders-oncall', 'maintenance over', expect.stringContaining(who.operator)],
      ['resume', 'completed', 'orders-oncall', 'maintenance over', expect.stringContaining(who.operator)],
    ]),
  );
  const audited = await runDocumented('audit');
  expect(audited).toMatch(/pause/);
  expect(audited).toMatch(/resume/);
});

it('pauses a push consumer at the local push relay, and resumes it', async () => {
  const consumer = t.spec.consumers['dashboard-analytics'];
  await auditedPause(where, { consumer, ...who });
  await eventually(
    () => (t.mesh.relays.filter((r) => r.consumer.name === consumer.name).every((r) => r.paused) ? true : undefined),
    30_000,
    'the relays paused',
  );
  const before = await stats('dashboard');
  const beforeProcessor = (await stats('processor'))['processor-analytics'];
  const publisher = new MeshPublisher({ pubsub: t.target.pubsub, spec: t.spec, source: '//pause-test' });
  await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publish('analytics', 'view', { userId: `pu-${i}`, postId: 'pp', durationMs: 10 })));
  // The other consumer of the topic gets them; the paused one does not.
  await eventually(
    async () => (handled((await stats('processor'))['processor-analytics']) >= handled(beforeProcessor) + 50 ? true : undefined),
    60_000,
    'the processor handled the views',
  );
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(handled((await stats('dashboard'))['dashboard-analytics'])).toBe(handled(before['dashboard-analytics']));
  await auditedResume(where, { consumer, ...who });
  await eventually(
    async () => (handled((await stats('dashboard'))['dashboard-analytics']) >= handled(before['dashboard-analytics']) + 50 ? true : undefined),
    60_000,
    'the dashboard handled the views after resume',
  );
});
