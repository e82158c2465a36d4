/**
 * `mesh readiness` as users run it: a table per topic, what is missing with its fix, exit 1 only
 * under --strict, and a warehouse that does not answer shown as unknown (missing under --strict).
 * The warehouse with a replay recorded: test/system/launch-readiness.test.ts.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../shared/emulators';
import type { TopicReadiness } from '../../shared/readiness';

const ROOT = path.resolve(__dirname, '..', '..');
const UNREADY = path.join(__dirname, 'fixtures', 'launch-readiness', 'unready.yaml');

let empty: string;
let nobody: string;
beforeAll(async () => {
  // A repository root without docs, and a BigQuery address nothing answers on.
  empty = fs.mkdtempSync(path.join(os.tmpdir(), 'readiness-cli-'));
  nobody = `http://127.0.0.1:${await freePort()}`;
});
afterAll(() => fs.rmSync(empty, { recursive: true, force: true }));

async function mesh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', ...args], {
    cwd: ROOT,
    timeout: 60_000,
    env: { ...process.env, MESH_SPEC: '', BIGQUERY_EMULATOR_HOST: nobody },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

it('prints what is missing with its fix, and exits 1 under --strict', async () => {
  const strict = await mesh('--spec', UNREADY, 'readiness', '--root', empty, '--strict');
  expect(strict.stderr).toBe('');
  expect(strict.code).toBe(1);
  expect(strict.stdout).toContain('topic orders (impact high)');
  expect(strict.stdout).toMatch(/│ worker-orders\s+│ RTO\/RPO declared\s+│ MISSING/);
  expect(strict.stdout).toMatch(/│ worker-orders\s+│ replay tested\s+│ UNKNOWN/);
  expect(strict.stdout).toContain('missing (7 of 7 checks):');
  expect(strict.stdout).toContain(`- consumer worker-orders: replay tested: unknown (warehouse not reachable: no local BigQuery endpoint answers at ${nobody}`);
  expect(strict.stdout).toContain('    fix: run npm run mesh -- runbooks and commit docs/runbooks/');

  const lenient = await mesh('--spec', UNREADY, 'readiness', '--root', empty);
  expect(lenient.code).toBe(0);
  expect(lenient.stdout).toContain('missing (7 of 7 checks):');
}, 120_000);

it('--json gives every item; --topic refuses a topic the spec lacks', async () => {
  const json = await mesh('--spec', UNREADY, 'readiness', '--root', empty, '--json', '--strict');
  expect(json.code).toBe(1);
  const report = JSON.parse(json.stdout) as { ready: boolean; topics: TopicReadiness[] };
  expect(report.ready).toBe(false);
  expect(report.topics[0].consumers[0].items.find((i) => i.id === 'replay-tested')).toMatchObject({ ok: false, unknown: true });

  const unknownTopic = await mesh('--spec', UNREADY, 'readiness', '--topic', 'order');
  expect(unknownTopic.code).toBe(1);
  expect(unknownTopic.stderr).toContain('no topic "order" in the spec (topics: orders)');
}, 120_000);

it('on mesh.yaml in this repository: everything but what needs docs/schemas.md and the warehouse passes', async () => {
  const result = await mesh('--spec', path.join(ROOT, 'mesh.yaml'), 'readiness', '--topic', 'orders', '--json');
  expect(result.code).toBe(0);
  const { topics } = JSON.parse(result.stdout) as { topics: TopicReadiness[] };
  const missing = [...topics[0].items.map((i) => ['orders', i] as const), ...topics[0].consumers.flatMap((c) => c.items.map((i) => [c.consumer, i] as const))]
    .filter(([, i]) => !i.ok)
    .map(([who, i]) => `${who}: ${i.id}`);
  const guide = fs.existsSync(path.join(ROOT, 'docs', 'schemas.md'));
  expect(missing).toEqual([
    ...(guide ? [] : ['orders: compatibility-documented']),
    ...['processor-orders', 'dashboard-orders', 'warehouse-orders', 'archive-orders'].map((c) => `${c}: replay-tested`),
  ]);
}, 120_000);
