/**
 * The whole mesh under generated interleavings (issue 18), judged by parity: fast-check draws each
 * case's traffic (how many sends, the share of duplicates, poison, order steps swapped, orders against
 * analytics), how it is published (bursts of one to hundreds, so the dashboard commits a few events or
 * hundreds at once), which minutes the events fall in, and whether a consumer's service restarts
 * mid-stream (which one, and when; npm start's supervisor starts it again). Every send goes through the plain client, as producers do. After
 * each case drains, `mesh parity` must find every window and entity agreeing, across every case so
 * far: the cases share the mesh and their windows, so each one also interleaves with the ones before.
 *
 * Events carry ce-times in minutes that already closed, so a window is judged as soon as it drains.
 * Real emulators, services and clients; nothing mocked. A failing case is not shrunk (the mesh keeps
 * its state); fast-check prints its seed and the case: replay with MESH_FC_SEED=<seed>.
 * MESH_FC_RUNS sets the number of cases (default 4, a few minutes on 2 cores).
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import fc from 'fast-check';
import type { LocalMesh } from '../../shared/local';
import type { MeshSpec } from '../../shared/spec';
import { windowStart } from '../../services/dashboard/windows';
import { TrafficGenerator } from '../../tools/load/traffic';
import { TrafficSender } from '../../tools/load/sender';
import { readLag } from '../../tools/parity/lag';
import { runParity } from '../../tools/parity/run';
import type { ParityReport } from '../../tools/parity/types';
import type { SmokeTarget } from '../../tools/smoke/target';
import { eventually } from '../support/emulators';
import { startTestMesh, type TestMesh } from '../support/local-mesh';

jest.setTimeout(1_200_000);

const RUNS = Number(process.env.MESH_FC_RUNS ?? 4);
/** The minutes events fall in: closed minutes before the test started. */
const MINUTES = 6;

let spec: MeshSpec;
let mesh: LocalMesh;
let target: SmokeTarget;
const firstWindow = windowStart('minute', Date.now()) - (MINUTES + 1) * 60_000;

let running: TestMesh;

beforeAll(async () => {
  running = await startTestMesh('mesh-property');
  ({ spec, mesh, target } = running);
}, 300_000);

afterAll(() => running?.close());

const meshCase = fc.record({
  seed: fc.integer(),
  sends: fc.integer({ min: 30, max: 250 }),
  mix: fc.record({
    duplicates: fc.double({ min: 0, max: 0.3, noNaN: true }),
    poison: fc.double({ min: 0, max: 0.05, noNaN: true }),
    outOfOrder: fc.double({ min: 0, max: 0.2, noNaN: true }),
    orders: fc.double({ min: 0.1, max: 0.7, noNaN: true }),
  }),
  /** Sends per burst: one at a time makes small commits, hundreds at once large ones. */
  burst: fc.constantFrom(1, 5, 40, 250),
  /** Minute (0..MINUTES-1) of each burst's events, drawn per burst. */
  minutes: fc.array(fc.nat(MINUTES - 1), { minLength: 1, maxLength: 8 }),
  restart: fc.option(fc.record({ service: fc.constantFrom('processor', 'dashboard', 'warehouse'), at: fc.double({ min: 0.1, max: 0.9, noNaN: true }) }), {
    nil: undefined,
  }),
});

type MeshCase = typeof meshCase extends fc.Arbitrary<infer T> ? T : never;

/** Ends a service the way Cloud Run replaces an instance (SIGTERM, drain); npm start's supervisor starts it again. */
async function restart(name: string): Promise<void> {
  const service = mesh.services.find((s) => s.name === name)!;
  const before = service.restarts;
  process.kill(-service.pid, 'SIGTERM');
  await eventually(() => (service.restarts > before && service.state === 'running' ? true : undefined), 60_000, `${name} restarted`);
}

async function publish(c: MeshCase): Promise<void> {
  const generator = new TrafficGenerator({ ...c.mix, raw: 1 }, c.seed);
  const sender = new TrafficSender(target.pubsub, spec, '//mesh-property');
  const restartAt = c.restart ? Math.floor(c.sends * c.restart.at) : -1;
  for (let sent = 0, burst = 0; sent < c.sends; burst++) {
    const minute = c.minutes[burst % c.minutes.length];
    const size = Math.min(c.burst, c.sends - sent);
    const sends = Array.from({ length: size }, (_, i) => {
      const time = new Date(firstWindow + minute * 60_000 + ((sent + i) % 60) * 1000);
      return sender.send(generator.next(), time);
    });
    await Promise.all(sends);
    if (restartAt >= sent && restartAt < sent + size) await restart(c.restart!.service);
    sent += size;
  }
  await sender.flush();
}

async function parity(): Promise<ParityReport> {
  const { lag } = await readLag(spec, target, mesh.serviceUrls.dashboard);
  return runParity({ spec, target, granularity: 'minute', sinceMs: firstWindow, lag, settleMs: 0 });
}

it('parity holds on every window after any generated mix, burst size, minute spread and restart', async () => {
  let cases = 0;
  let storedBefore = 0;
  const summaries: string[] = [];
  await fc.assert(
    fc.asyncProperty(meshCase, async (c) => {
      cases++;
      await publish(c);
      let last: ParityReport | undefined;
      try {
        await eventually(
          async () => {
            last = await parity();
            return last.rows.length && last.rows.every((r) => r.verdict === 'ok') ? true : undefined;
          },
          180_000,
          'parity on every window',
        );
      } catch (error) {
        const differing = (last?.rows ?? []).filter((r) => r.verdict !== 'ok');
        throw new Error(
          `${(error as Error).message}\n${differing.map((r) => `${r.verdict} ${r.topic} ${r.window} ${r.check} ${r.item} ${JSON.stringify(r.counts)} ${JSON.stringify(r.differences)}`).join('\n')}`,
          { cause: error },
        );
      }
      // Real numbers were compared: this case's events joined the windows of the ones before.
      const stored = last!.rows.filter((r) => r.check === 'events').reduce((n, r) => n + (r.counts.warehouse ?? 0), 0);
      const held = last!.rows.filter((r) => r.check === 'dead-letters').reduce((n, r) => n + (Object.values(r.counts)[0] ?? 0), 0);
      expect(stored).toBeGreaterThan(storedBefore);
      storedBefore = stored;
      summaries.push(
        `case ${cases}: ${c.sends} sends in bursts of ${c.burst} over minutes ${c.minutes.join(',')}${c.restart ? `, ${c.restart.service} restarted at ${Math.round(c.restart.at * 100)}%` : ''}: ` +
          `${last!.rows.length} checks agree, ${stored} events in the warehouse, ${held} held`,
      );
    }),
    { numRuns: RUNS, endOnFailure: true, seed: process.env.MESH_FC_SEED ? Number(process.env.MESH_FC_SEED) : undefined },
  );
  console.log(summaries.join('\n'));
  expect(cases).toBe(RUNS);
});
