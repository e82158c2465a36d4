(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
/**
 * `npm start` survives a crash of either emulator (startLocalMesh, as npm start runs it): a kill -9 of
 * the emulator's process group, and the mesh starts it again on its port. Pub/Sub comes back empty and
 * gets the spec applied again before it counts as running; Firestore comes back from its last export.
 * After each, a `mesh smoke` passes (events published after the restart reach every sink), through
 * clients made before the kill, and no service had to be restarted. Real emulators and services.
 */
import * as fs from 'node:fs';
import { readEmulatorStates, type LocalMesh, type SupervisedEmulator } from '../../shared/local';
import type { MeshSpec } from '../../shared/spec';
import type { ConsumerHealth } from '../../shared/health/types';
import { readMeshStatus } from '../../tools/commands/status';
import { planSmoke } from '../../tools/smoke/mix';
import { runSmoke } from '../../tools/smoke/run';
import type { SmokeTarget } from '../../tools/smoke/target';
import { eventually } from '../support/emulators';
import { startTestMesh, type TestMesh } from '../support/local-mesh';

jest.setTimeout(600_000);

let spec: MeshSpec;
let mesh: LocalMesh;
let target: SmokeTarget;
const lines: string[] = [];

let running: TestMesh;

beforeAll(async () => {
  running = await startTestMesh('emulator-restart', { onProgress: (line) => lines.push(line) });
  ({ spec, mesh, target } = running);
}, 300_000);

afterAll(() => running?.close());

const groupGone = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return false;
  } catch {
    return true;
  }
};

/** kill -9 of the emulator's process group; resolves once the mesh reports the next instance running. */
async function crash(emulator: SupervisedEmulator): Promise<void> {
  const pid = emulator.pid;
  const restarts = emulator.restarts;
  process.kill(-pid, 'SIGKILL');
  await eventually(() => (emulator.restarts > restarts && emulator.state === 'running' ? true : undefined), 120_000, `${emulator.name} restarted`);
  expect(groupGone(pid)).toBe(true);
  expect(emulator.pid).not.toBe(pid);
  expect(emulator.lastExit).toMatchObject({ signal: 'SIGKILL' });
}

async function smoke(): Promise<void> {
  const report = await runSmoke({ spec, target, timeoutMs: 180_000 });
  const failing = report.checks.filter((c) => !c.ok).map((c) => `${c.id}: expected ${c.expected}, saw ${c.seen}`);
  expect(failing).toEqual([]);
}

async function health(): Promise<ConsumerHealth[]> {
  const response = await fetch(`${mesh.serviceUrls.dashboard}/api/health`);
  const body = (await response.json()) as ConsumerHealth[] | { consumers: ConsumerHealth[] };
  return Array.isArray(body) ? body : body.consumers;
}

/** Per consumer that dead-letters poison itself (not BigQuery subscriptions): what the dashboard's health counts. */
async function deadLettered(): Promise<number[]> {
  const counts = new Map((await health()).map((h) => [h.consumer, h.deadLettered]));
  return Object.values(spec.consumers)
    .filter((c) => c.delivery !== 'bigquery')
    .map((c) => counts.get(c.name) ?? -1);
}

it('restarts a killed Pub/Sub emulator with the spec applied again; events flow end to end after it', async () => {
  // Dead letters in the holds before the crash, which the dashboard's health counts.
  for (const p of planSmoke().poison) await target.pubsub.topic(p.topic).publishMessage({ json: p.data, attributes: p.attributes });
  await eventually(async () => ((await deadLettered()).every((n) => n > 0) ? true : undefined), 60_000, 'health counts the dead letters');

  const pubsub = mesh.emulators.pubsub;
  await crash(pubsub);
  expect(pubsub.restarts).toBe(1);
  expect(lines).toContainEqual(expect.stringMatching(/^the Pub\/Sub emulator exited \(SIGKILL\); restarting in 1 s; the messages it held are gone/));
  expect(lines).toContainEqual(`the Pub/Sub emulator restarted (pid ${pubsub.pid}; restart 1); spec applied again`);
  expect(readEmulatorStates(spec.local.dataDir)?.pubsub).toMatchObject({ pid: pubsub.pid, state: 'running', restarts: 1, lastExit: { signal: 'SIGKILL' } });
  expect((await readMeshStatus(spec, mesh.serviceUrls)).emulators?.pubsub).toMatchObject({ state: 'running', restarts: 1 });

  // The holds went with the old instance: the health forgets them (its ledgers were of the old instance's message ids).
  await eventually(async () => ((await deadLettered()).every((n) => n === 0) ? true : undefined), 30_000, 'health forgets the lost dead letters');

  await smoke();
  // The health's taps follow the new instance: they see the smoke's poison dead-lettered.
  await eventually(async () => ((await deadLettered()).every((n) => n > 0) ? true : undefined), 60_000, 'health counts new dead letters');
  // The services carried on through it: none had to be restarted.
  expect(mesh.services.map((s) => [s.name, s.restarts])).toEqual(mesh.services.map((s) => [s.name, 0]));
});

it('restarts a killed Firestore emulator from its last export; events flow end to end after it', async () => {
  const firestore = mesh.emulators.firestore;
  const docs = target.firestore.collection('emulator-restart');
  await docs.doc('exported').set({ at: Date.now() });
  const exported = await firestore.exportData();
  expect(fs.existsSync(exported)).toBe(true);
  await docs.doc('after-export').set({ at: Date.now() });

  await crash(firestore);
  expect(lines).toContainEqual(expect.stringMatching(/^the Firestore emulator exited \(SIGKILL\); restarting in 1 s; it comes back from its last export/));
  expect(lines).toContainEqual(`the Firestore emulator restarted (pid ${firestore.pid}; restart 1); its last export imported`);
  // What the export held is back; what was written after it is gone.
  expect((await docs.doc('exported').get()).exists).toBe(true);
  expect((await docs.doc('after-export').get()).exists).toBe(false);

  await smoke();
  expect(mesh.services.map((s) => [s.name, s.restarts])).toEqual(mesh.services.map((s) => [s.name, 0]));
});

/** This mesh's processes: emulators name its ports on their command line, services its spec in their environment. */
function meshProcesses(): string[] {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8').replace(/\0/g, ' ');
    } catch {
      return '';
    }
  };
  const marks = [`--port=${spec.local.pubsubPort} `, `--port=${spec.local.firestorePort} `, `MESH_SPEC=${spec.file} `];
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .map((p) => `${p}: ${read(`/proc/${p}/cmdline`)} ${read(`/proc/${p}/environ`)}`)
    .filter((text) => marks.some((mark) => text.includes(mark)))
    .map((text) => text.slice(0, 160));
}

it('stop() during a restart leaves nothing running', async () => {
  const pids: Array<[string, number]> = [
    ['pubsub', mesh.emulators.pubsub.pid],
    ['firestore', mesh.emulators.firestore.pid],
    ...mesh.services.map((s): [string, number] => [s.name, s.pid]),
  ];
  const pubsubProcess = () => meshProcesses().some((p) => p.includes(`--port=${spec.local.pubsubPort} `));
  process.kill(-mesh.emulators.pubsub.pid, 'SIGKILL');
  await eventually(() => (mesh.emulators.pubsub.state === 'restarting' && !pubsubProcess() ? true : undefined), 10_000, 'pubsub gone');
  // stop() while the next instance is starting (not ready, the spec not applied again yet).
  await eventually(() => (pubsubProcess() ? true : undefined), 60_000, 'the next Pub/Sub emulator starting');
  expect(mesh.emulators.pubsub.state).toBe('restarting');
  await mesh.stop();
  expect(pids.filter(([, pid]) => !groupGone(pid))).toEqual([]);
  expect(mesh.emulators.pubsub.state).toBe('stopped');
  expect(mesh.emulators.pubsub.restarts).toBe(1);
  expect(readEmulatorStates(spec.local.dataDir)).toMatchObject({ pubsub: { state: 'stopped' }, firestore: { state: 'stopped' } });
  expect(meshProcesses()).toEqual([]);
});
