/**
 * `mesh smoke` against the whole local mesh, started once the way `npm start` starts it
 * (startLocalMesh, as e2e.test.ts does): the smoke's function passes with every check green, the CLI
 * passes too (a second run on the same mesh: the runs do not disturb each other), and with the
 * warehouse stopped the warehouse's checks fail within a short timeout while the run says which and
 * what it saw.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startLocalMesh, type LocalMesh } from '../../shared/local';
import { LOCAL_SERVICE_HEAP_MIB } from '../../shared/local/services';
import type { StatsSnapshot } from '../../shared/consumer/stats';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { sweepHold } from '../../tools/smoke/holds';
import { SMOKE_RUN_ATTRIBUTE } from '../../tools/smoke/mix';
import { exitCodeOf, runSmoke, type SmokeReport } from '../../tools/smoke/run';
import { localTarget, type SmokeTarget } from '../../tools/smoke/target';
import { REPO_ROOT, writeRepoSpecWithFreePorts } from '../support/specs';

jest.setTimeout(300_000);

let dir: string;
let spec: MeshSpec;
let mesh: LocalMesh;
let target: SmokeTarget;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-smoke-'));
  spec = loadSpec(await writeRepoSpecWithFreePorts(dir, (doc) => (doc.project = `smoke-${process.pid}`)));
  mesh = await startLocalMesh(spec, { fresh: true });
  target = await localTarget(spec, { pubsubHost: mesh.pubsubHost, firestoreHost: mesh.firestoreHost, bigqueryUrl: mesh.bigqueryUrl });
});

afterAll(async () => {
  await target?.close();
  await mesh?.stop().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

const summary = (report: SmokeReport) => report.checks.map((c) => `${c.ok ? 'pass' : 'FAIL'} ${c.id}: expected ${c.expected}; seen ${c.seen}`).join('\n');

it("runs each service with a heap sized for its instance, not for this machine's RAM (shared/local/services.ts)", async () => {
  for (const [service, url] of Object.entries(mesh.serviceUrls)) {
    const stats = (await (await fetch(`${url}/stats`)).json()) as StatsSnapshot;
    const limitMib = stats.memory!.heapLimitBytes / 2 ** 20;
    // The old-space limit plus V8's young generation; without the flag this machine gives ~4 GiB.
    expect({ service, limitOver: limitMib >= LOCAL_SERVICE_HEAP_MIB }).toEqual({ service, limitOver: true });
    expect({ service, limitUnder: limitMib < 256 }).toEqual({ service, limitUnder: true });
  }
});

it('passes on a healthy mesh: every consumer handled the run, each check green', async () => {
  const progress: string[] = [];
  const started = Date.now();
  const report = await runSmoke({ spec, target, timeoutMs: 150_000, onProgress: (line) => progress.push(line) });
  console.log(`smoke passed in ${((Date.now() - started) / 1000).toFixed(1)} s\n${summary(report)}\n${progress.join('\n')}`);
  expect(report.failed).toEqual([]);
  expect(report.ok).toBe(true);
  expect(exitCodeOf(report)).toBe(0);
  // One check per effect: processor (orders, the anomaly, likes, activity), dashboard and warehouse per topic, six dead-letter holds.
  const ids = report.checks.map((c) => c.id);
  expect(ids).toEqual(
    expect.arrayContaining([
      'publish',
      'processor.orders',
      expect.stringMatching(/^processor\.anomaly\./),
      'processor.likes',
      'processor.activity',
      'dashboard.analytics',
      'dashboard.orders',
      'warehouse.analytics',
      'warehouse.orders',
      ...['dashboard-analytics', 'processor-analytics', 'warehouse-analytics', 'processor-orders', 'dashboard-orders', 'warehouse-orders'].map(
        (c) => `dead-letters.${c}`,
      ),
    ]),
  );
  expect(report.checks).toHaveLength(1 + 4 + 2 + 2 + 6);
  for (const c of report.checks) expect(c).toMatchObject({ ok: true, passedAfterSeconds: expect.any(Number) });
  expect(report.checks.find((c) => c.id.startsWith('processor.anomaly.'))!.seen).toBe('invalid-transition: shipped before paid');
  expect(report.checks.find((c) => c.id === 'dashboard.analytics')!.seen).toBe('60 click, 35 like.created, 15 like.removed, 90 view');
  expect(progress[0]).toMatch(/^run smoke-.*: publishing 276 messages/);
  // The run's poison is taken out of the holds once found: nothing of it is left for triage.
  const again = await sweepHold({
    pubsub: target.pubsub,
    hold: 'dashboard-analytics-dlq-hold',
    eventId: report.poison.analytics,
    runAttribute: [SMOKE_RUN_ATTRIBUTE, report.runId],
    idleMs: 1500,
  });
  expect(again).toMatchObject({ found: undefined, error: undefined });
});

/** `npm run mesh -- smoke ...` against the test's mesh; resolves with the exit code instead of rejecting. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', '--spec', spec.file, 'smoke', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PUBSUB_EMULATOR_HOST: mesh.pubsubHost, FIRESTORE_EMULATOR_HOST: mesh.firestoreHost, BIGQUERY_EMULATOR_HOST: mesh.bigqueryUrl },
      maxBuffer: 10 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '', seconds: (Date.now() - started) / 1000 };
  }
}

it('the CLI passes too (a second run on the same mesh): the table, every row pass, exit code 0', async () => {
  const { code, stdout, stderr, seconds } = await cli('--timeout', '150s');
  console.log(`CLI smoke in ${seconds.toFixed(1)} s (exit ${code})\n${stdout}\n${stderr}`);
  expect(code).toBe(0);
  expect(stdout).toMatch(/│ check\s+│ result\s+│ expected\s+│ seen\s+│/);
  expect(stdout.match(/│ pass/g)).toHaveLength(15);
  expect(stdout).not.toMatch(/FAIL/);
  expect(stdout).toMatch(/smoke smoke-\S+ passed on the local mesh: 15 checks in [\d.]+s/);
  expect(stderr).toMatch(/^smoke: run smoke-\S+: publishing 276 messages/m);
});

it('with the warehouse stopped, its checks fail within the timeout: exit code 1, the JSON says which and what was seen', async () => {
  await mesh.services.find((s) => s.name === 'warehouse')!.stop();
  const { code, stdout, seconds } = await cli('--json', '--timeout', '20s');
  const report = JSON.parse(stdout) as SmokeReport;
  console.log(`CLI smoke with the warehouse stopped: ${seconds.toFixed(1)} s (exit ${code})\n${summary(report)}`);
  expect(code).toBe(1);
  expect(report.ok).toBe(false);
  expect(seconds).toBeLessThan(60);
  const warehouseChecks = ['warehouse.analytics', 'warehouse.orders', 'dead-letters.warehouse-analytics', 'dead-letters.warehouse-orders'];
  expect(report.failed).toEqual(expect.arrayContaining(warehouseChecks));
  for (const id of ['warehouse.analytics', 'warehouse.orders'])
    expect(report.checks.find((c) => c.id === id)).toMatchObject({
      ok: false,
      seen: expect.stringMatching(/^0 rows, 0 event ids \(\d+ missing\)$/),
      passedAfterSeconds: null,
    });
  for (const id of ['dead-letters.warehouse-analytics', 'dead-letters.warehouse-orders'])
    expect(report.checks.find((c) => c.id === id)!.seen).toMatch(/^not among the \d+ held message/);
});
