/**
 * Canary rollout on the whole local mesh (npm start's code, real emulators, clients and services):
 * `mesh canary start` runs a second processor from another build for a share of processor-orders'
 * buckets. A build that fails every order.shipped is aborted by the spec's threshold while the
 * stable side loses nothing: every order ends in its right state, the failed messages handled by
 * the stable side, the dashboard and warehouse untouched. A healthy canary is watched side by side
 * and promoted. Each step is in operations_audit. The commands are docs/operations.md's, run as
 * written (with --spec of this mesh and this test's build).
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { endCanary, readCanary, writeCanary, type CanaryControl } from '../../shared/canary/control';
import { canarySubscriptionFilter, finishCanary, startCanary } from '../../shared/canary/lifecycle';
import { bucketOf } from '../../shared/canary/routing';
import { firestorePaths } from '../../shared/firestore';
import { OperationsAudit } from '../../shared/operations';
import { MeshPublisher } from '../../shared/publisher';
import { readMeshStatus, statusReport } from '../../tools/commands/status';
import { readLag } from '../../tools/parity/lag';
import { runParity } from '../../tools/parity/run';
import { eventually } from '../support/emulators';
import { startTestMesh, type TestMesh } from '../support/local-mesh';

jest.setTimeout(900_000);

const ROOT = path.join(__dirname, '..', '..');
const BROKEN_BUILD = 'test/fixtures/canary/processor-fails-shipped.ts';
/** Lifecycles by i % 4, and the state each ends in (as test/system/pause.test.ts). */
const LIFECYCLES: [string[], string][] = [
  [['order.created', 'order.paid', 'order.shipped'], 'shipped'],
  [['order.created', 'order.cancelled'], 'cancelled'],
  [['order.created', 'order.paid'], 'paid'],
  [['order.created'], 'created'],
];

let t: TestMesh;
let audit: OperationsAudit;

beforeAll(async () => {
  t = await startTestMesh('canary');
  audit = new OperationsAudit(t.target.bigquery, t.spec, t.target.project);
});

afterAll(async () => {
  const control = await readCanary(t.target.firestore, 'processor-orders').catch(() => undefined);
  if (control?.local?.pid) killGroup(control.local.pid);
  await t?.close();
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The example of docs/operations.md's "Canary rollout": its `npm run mesh -- ...` lines. */
function documented(verb: string): string[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Canary rollout'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const line = block.split('\n').find((l) => l.startsWith(`npm run mesh -- canary ${verb} `));
  if (!line) throw new Error(`docs/operations.md has no "npm run mesh -- canary ${verb}" example`);
  return [...line.slice('npm run mesh -- '.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** Runs `tsx tools/mesh.ts --spec <this mesh> ...args` against this mesh only. */
async function mesh(args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, MESH_OPERATOR: 'canary-test' };
  for (const name of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'BIGQUERY_EMULATOR_HOST']) delete env[name];
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'tools/mesh.ts', '--spec', t.spec.file, ...args], { cwd: ROOT, env, timeout: 240_000 });
  return stdout;
}

async function stats(service: string): Promise<Record<string, { received: number; done: number; duplicate: number }>> {
  return (
    (await (await fetch(`${t.mesh.serviceUrls[service]}/stats`)).json()) as { consumers: Record<string, { received: number; done: number; duplicate: number }> }
  ).consumers;
}
const handled = (c: { done: number; duplicate: number } | undefined) => (c ? c.done + c.duplicate : 0);

async function publishOrders(prefix: string, count: number): Promise<number> {
  const publisher = new MeshPublisher({ pubsub: t.target.pubsub, spec: t.spec, source: '//canary-test' });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++)
    for (const [sequence, type] of LIFECYCLES[i % 4][0].entries())
      sends.push(
        publisher.publish('orders', type, {
          orderId: `${prefix}-${i}`,
          customerId: 'c',
          sequence: sequence + 1,
          amountCents: 500,
          carrier: 'dhl',
          reason: 'r',
        }),
      );
  await Promise.all(sends);
  return sends.length;
}

async function everyOrderEnds(prefix: string, count: number): Promise<void> {
  const refs = Array.from({ length: count }, (_, i) => t.target.firestore.doc(firestorePaths.order(`${prefix}-${i}`)));
  await eventually(
    async () => {
      const docs = await t.target.firestore.getAll(...refs);
      return docs.every((d, i) => d.get('state') === LIFECYCLES[i % 4][1]) ? true : undefined;
    },
    240_000,
    `every ${prefix} order in its final state`,
  );
  const anomalies = await t.target.firestore
    .collectionGroup('anomalies')
    .where('orderId', '>=', `${prefix}-`)
    .where('orderId', '<', `${prefix}.`)
    .count()
    .get();
  expect(anomalies.data().count).toBe(0);
}

const ended = (state: CanaryControl['state']) => async () => {
  const control = await readCanary(t.target.firestore, 'processor-orders');
  return control?.state === state && control.cleanup ? control : undefined;
};

it('aborts a canary that fails one event type by its threshold; the stable side loses nothing', async () => {
  const ORDERS = 400;
  const startedAt = Date.now();
  const before = await stats('dashboard');
  const start = documented('start');
  start.splice(start.indexOf('--build') + 1, 1, BROKEN_BUILD);
  expect(await mesh(start)).toMatch(/processor-orders: canary op-\S+ takes 20% of the buckets/);
  const running = (await readCanary(t.target.firestore, 'processor-orders'))!;
  expect(running).toMatchObject({ state: 'running', share: 20, build: BROKEN_BUILD, owner: 'orders-oncall' });
  expect(alive(running.local!.pid)).toBe(true);
  // The split starts a moment after the canary subscription exists (lifecycle.ts SPLIT_DELAY_MS).
  await new Promise((resolve) => setTimeout(resolve, Date.parse(running.since) - Date.now() + 500));

  const events = await publishOrders('broken', ORDERS);
  const canaryOrders = Array.from({ length: ORDERS }, (_, i) => i).filter((i) => bucketOf(`broken-${i}`) < 20);
  expect(canaryOrders.filter((i) => i % 4 === 0).length).toBeGreaterThan(5); // shipped orders the broken build fails

  const aborted = await eventually(ended('aborted'), 240_000, 'the threshold to abort the canary and give its messages back');
  expect(aborted.ended).toMatchObject({ by: 'threshold', reason: expect.stringMatching(/canary error rate .* against stable/) });
  // Judged on the sides' own reports: the canary past its minimum with failures, the stable side clean.
  const verdict = aborted.ended!.verdict as {
    canary: { counts: { handled: number; failed: number; deadLettered: number } };
    stable: { counts: { handled: number; failed: number } };
  };
  expect(verdict.canary.counts.handled).toBeGreaterThanOrEqual(running.policy.minEvents);
  expect(verdict.canary.counts.failed + verdict.canary.counts.deadLettered).toBeGreaterThan(0);
  expect(verdict.stable.counts.handled).toBeGreaterThan(0);
  expect(verdict.stable.counts.failed).toBe(0);
  expect(aborted.cleanup?.error).toBeUndefined();
  expect(aborted.cleanup!.backlogMoved + aborted.cleanup!.deadLettersRedriven).toBeGreaterThan(0);
  await eventually(() => (alive(running.local!.pid) ? undefined : true), 60_000, 'the canary process to stop itself');

  // Nothing lost: every order in its right state, its shipped events handled by the stable side.
  await everyOrderEnds('broken', ORDERS);
  // And the sinks tell one story: the processor (both builds wrote it) against the warehouse and the dashboard, per minute.
  const { lag } = await readLag(t.spec, t.target, t.mesh.serviceUrls.dashboard);
  const report = await eventually(
    async () => {
      const r = await runParity({ spec: t.spec, target: t.target, granularity: 'minute', sinceMs: startedAt, lag, settleMs: 2000, topics: ['orders'] });
      return r.rows.length && r.rows.every((row) => row.verdict === 'ok') ? r : undefined;
    },
    180_000,
    'parity of the orders windows',
  );
  expect(report.mismatches).toBe(0);
  const [dashboard, warehouse] = [await stats('dashboard'), await stats('warehouse')];
  expect(handled(dashboard['dashboard-orders']) - handled(before['dashboard-orders'])).toBeGreaterThanOrEqual(events);
  expect(handled(warehouse['warehouse-orders'])).toBeGreaterThanOrEqual(events);

  // Status tells the story; the audit has the start and the automatic abort.
  const status = await mesh(documented('status'));
  expect(status).toMatch(/canary op-\S+ aborted/);
  expect(status).toMatch(/ended .* by threshold: canary error rate/);
  const steps = (await audit.latest({ consumer: 'processor-orders' })).map((r) => [r.operation, r.state, r.operator]);
  expect(steps).toEqual(
    expect.arrayContaining([
      ['canary-start', 'started', expect.stringContaining('canary-test')],
      ['canary-start', 'completed', expect.stringContaining('canary-test')],
      ['canary-abort', 'started', 'threshold'],
      ['canary-abort', 'completed', 'threshold'],
    ]),
  );
});

it('shows a healthy canary beside the stable side, and promotes it', async () => {
  const ORDERS = 200;
  const start = documented('start');
  start.splice(start.indexOf('--build'), 2); // the service's own build: healthy
  await mesh(start);
  const running = (await readCanary(t.target.firestore, 'processor-orders'))!;
  await new Promise((resolve) => setTimeout(resolve, Date.parse(running.since) - Date.now() + 500));
  await publishOrders('healthy', ORDERS);
  const status = await eventually(
    async () => {
      const out = await mesh(documented('status'));
      return /verdict: healthy/.test(out) ? out : undefined;
    },
    180_000,
    'the healthy canary judged on enough deliveries',
  );
  expect(status).toMatch(/│ canary +│ 1 +│ \d+ +│ 0\.0 % +│ 0\.0 % +│ ≤\d+ ms/);
  expect(status).toMatch(/│ stable +│ 1 +│ \d+ +│ 0\.0 %/);
  // mesh status names it too, from the stable side's /stats.
  expect(statusReport(await readMeshStatus(t.spec, t.mesh.serviceUrls)).lines).toContain(
    `processor-orders: CANARY ${running.canaryId} takes 20% of the buckets since ${running.since}; side by side: npm run mesh -- canary status processor-orders`,
  );
  expect(await mesh(documented('promote'))).toMatch(/canary op-\S+ promoted/);
  const promoted = await eventually(ended('promoted'), 60_000, 'the promoted canary cleaned up');
  expect(promoted.ended).toMatchObject({ by: expect.stringContaining('canary-test') });
  await everyOrderEnds('healthy', ORDERS);
  await eventually(() => (alive(running.local!.pid) ? undefined : true), 60_000, 'the canary process to stop');
  const [subscription] = await t.target.pubsub.subscription('processor-orders-canary').exists();
  expect(subscription).toBe(false);
});

it('ends a canary once when the judge and an operator end it at the same moment', async () => {
  const control: CanaryControl = {
    consumer: 'race-consumer',
    canaryId: 'op-race',
    state: 'running',
    share: 10,
    since: new Date().toISOString(),
    build: 'b',
    policy: { errorMargin: 0.05, minEvents: 50 },
    owner: 'o',
    intent: 'i',
    operator: 'x',
  };
  await writeCanary(t.target.firestore, control);
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      endCanary(t.target.firestore, 'race-consumer', 'op-race', i % 2 ? 'aborted' : 'promoted', {
        at: new Date().toISOString(),
        by: `ender-${i}`,
        reason: 'race',
      }),
    ),
  );
  const winners = results.filter(Boolean);
  expect(winners).toHaveLength(1);
  expect(await readCanary(t.target.firestore, 'race-consumer')).toMatchObject({ state: winners[0]!.state, ended: { by: winners[0]!.ended!.by } });
  // Ending a canary that is not the running one changes nothing.
  expect(await endCanary(t.target.firestore, 'race-consumer', 'op-race', 'aborted', { at: '', by: 'late', reason: 'late' })).toBeUndefined();
});

it('in GCP runs the canary the stack deployed: refused until its subscription is there with the share filter, which the end keeps', async () => {
  const consumer = t.spec.consumers['processor-analytics'];
  const target = { pubsub: t.target.pubsub, firestore: t.target.firestore };
  const request = { consumer, share: 10, build: 'deployed', owner: 'o', intent: 'i', operator: 'gcp-test', canaryId: 'op-gcp', deployed: true };
  await expect(startCanary(target, request)).rejects.toThrow(/processor-analytics-canary is not deployed/);
  // What infra/canaries.ts makes, for another share: its filter cannot change, so the start is refused.
  await t.target.pubsub.topic(consumer.topic).createSubscription('processor-analytics-canary', { filter: canarySubscriptionFilter(consumer, 20) });
  await expect(startCanary(target, request)).rejects.toThrow(/deployed for another share/);
  await t.target.pubsub.subscription('processor-analytics-canary').delete();
  await t.target.pubsub.topic(consumer.topic).createSubscription('processor-analytics-canary', { filter: canarySubscriptionFilter(consumer, 10) });
  expect(await startCanary(target, request)).toMatchObject({ state: 'running', share: 10 });
  const { cleanup } = await finishCanary(
    target,
    consumer,
    'aborted',
    { at: new Date().toISOString(), by: 'gcp-test', reason: 'r' },
    { deleteSubscription: false },
  );
  expect(cleanup).toEqual({ backlogMoved: expect.any(Number), deadLettersRedriven: 0 });
  expect((await t.target.pubsub.subscription('processor-analytics-canary').exists())[0]).toBe(true);
});

it('lets an operator abort a canary: what it had not finished goes back to the stable side', async () => {
  const ORDERS = 80;
  const start = documented('start');
  start.splice(start.indexOf('--build'), 2);
  await mesh(start);
  const running = (await readCanary(t.target.firestore, 'processor-orders'))!;
  await new Promise((resolve) => setTimeout(resolve, Date.parse(running.since) - Date.now() + 500));
  await publishOrders('aborted', ORDERS);
  expect(await mesh(documented('abort'))).toMatch(/canary op-\S+ aborted .*message\(s\) moved back/);
  const aborted = await eventually(ended('aborted'), 60_000, 'the aborted canary cleaned up');
  expect(aborted.ended).toMatchObject({ by: expect.stringContaining('canary-test'), reason: 'the canary fails shipped orders' });
  await everyOrderEnds('aborted', ORDERS);
  await eventually(() => (alive(running.local!.pid) ? undefined : true), 60_000, 'the canary process to stop');
  // A second abort finds nothing to end.
  await expect(mesh(documented('abort'))).rejects.toThrow(/has no canary running/);
  const steps = (await audit.latest({ consumer: 'processor-orders' })).map((r) => [r.operation, r.state, r.intent]);
  expect(steps).toEqual(expect.arrayContaining([['canary-abort', 'completed', 'the canary fails shipped orders']]));
});
