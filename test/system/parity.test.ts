/**
 * `mesh parity` on the whole local mesh (startLocalMesh, as npm start runs it): a mixed publish
 * through MeshPublisher and the plain client (duplicates, poison, swapped order steps) drains and
 * every window agrees; again after the processor is killed (SIGKILL) mid-stream and restarted; and a
 * hand-made change in one sink (a dashboard counter decremented, a processor projection deleted, a
 * warehouse row no consumer saw) is reported as exactly that difference, in that sink and window.
 * Real emulators, clients and services; nothing mocked.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FieldValue, Timestamp } from '@google-cloud/firestore';
import { startLocalMesh, type LocalMesh } from '../../shared/local';
import { firestorePaths } from '../../shared/firestore';
import { eventsTableName, PARITY_RESULTS_TABLE } from '../../shared/warehouse';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { windowKey, windowStart } from '../../services/dashboard/windows';
import { TrafficGenerator, DEFAULT_MIX } from '../../tools/load/traffic';
import { TrafficSender } from '../../tools/load/sender';
import { runParityJob, type LogLine } from '../../tools/parity/job-run';
import { readLag } from '../../tools/parity/lag';
import type { MetricWriter } from '../../tools/parity/record';
import { runParity } from '../../tools/parity/run';
import { scheduleParity } from '../../tools/parity/schedule';
import type { ParityReport, ParityRow } from '../../tools/parity/types';
import { localTarget, type SmokeTarget } from '../../tools/smoke/target';
import { readMeshStatus } from '../../tools/commands/status';
import { eventually } from '../support/emulators';
import { writeRepoSpecWithFreePorts } from '../support/specs';

jest.setTimeout(900_000);

/** Sends per publish; PARITY_TEST_SENDS=10000 runs the 10,000-event case (minutes on 2 cores). */
const SENDS = Number(process.env.PARITY_TEST_SENDS ?? 1200);

let dir: string;
let spec: MeshSpec;
let mesh: LocalMesh;
let target: SmokeTarget;
const startedAt = Date.now();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-parity-'));
  spec = loadSpec(await writeRepoSpecWithFreePorts(dir, (doc) => (doc.project = `parity-${process.pid}`)));
  mesh = await startLocalMesh(spec, { fresh: true });
  target = await localTarget(spec, { pubsubHost: mesh.pubsubHost, firestoreHost: mesh.firestoreHost, bigqueryUrl: mesh.bigqueryUrl });
});

afterAll(async () => {
  await target?.close();
  await mesh?.stop().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Minute windows from the test's start, judged 2 s after they end. */
async function parity(): Promise<ParityReport> {
  const { lag } = await readLag(spec, target, mesh.serviceUrls.dashboard);
  return runParity({ spec, target, granularity: 'minute', sinceMs: startedAt, lag, settleMs: 2000 });
}

const notOk = (report: ParityReport) => report.rows.filter((r) => r.verdict !== 'ok');
const describe = (rows: ParityRow[]) =>
  rows.map((r) => `${r.verdict} ${r.topic} ${r.window} ${r.check} ${r.item} ${JSON.stringify(r.counts)} ${JSON.stringify(r.differences)}`).join('\n');

/** Waits until every window so far is closed, drained and agrees (or fails with what still differs). */
async function parityHolds(timeoutMs = Math.max(240_000, SENDS * 60)): Promise<ParityReport> {
  let last: ParityReport | undefined;
  try {
    return await eventually(
      async () => {
        last = await parity();
        return last.rows.length && !notOk(last).length ? last : undefined;
      },
      timeoutMs,
      'parity on every window',
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${last ? describe(notOk(last)) : 'no report'}\nwarnings: ${last?.warnings.join('; ')}`, { cause: error });
  }
}

async function publish(sends: number, seed: number, during?: (sent: number) => Promise<void>): Promise<void> {
  // Every send through the plain client (raw: 1), as the producers do. With two publisher
  // clients on one ordering key the emulator may deliver the key out of its publish-time order, and
  // parity rightly reports the processor's projections as differing (docs/parity.md).
  const generator = new TrafficGenerator({ ...DEFAULT_MIX, duplicates: 0.1, poison: 0.01, raw: 1 }, seed);
  const sender = new TrafficSender(target.pubsub, spec, '//parity-test');
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < sends; i++) {
    pending.push(sender.send(generator.next()));
    if (i % 200 === 199) {
      await Promise.all(pending.splice(0));
      await during?.(i + 1);
    }
  }
  await sender.flush();
  await Promise.all(pending);
}

/** Waits for the minute of `ms` to end (and the 2 s settle) so its window can be judged. */
async function afterMinuteOf(ms: number): Promise<void> {
  const wait = windowStart('minute', ms) + 60_000 + 2500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

let clean: ParityReport;

it('holds on every window after a mixed publish with duplicates, poison and swapped order steps', async () => {
  await publish(SENDS, 7);
  await afterMinuteOf(Date.now());
  clean = await parityHolds();
  const checks = new Set(clean.rows.map((r) => r.check));
  expect([...checks].sort()).toEqual(['activity', 'dead-letters', 'events', 'like-counters', 'likes', 'order-states', 'orders', 'users']);
  // Real numbers were compared: the windows hold the publish, and poison sits in every hold.
  const events = clean.rows.filter((r) => r.check === 'events').reduce((n, r) => n + (r.counts.warehouse ?? 0), 0);
  expect(events).toBeGreaterThan(SENDS * 0.75);
  const held = clean.rows.filter((r) => r.check === 'dead-letters');
  expect(held.map((r) => r.item).sort()).toEqual(
    ['dashboard-analytics', 'dashboard-orders', 'processor-analytics', 'processor-orders', 'warehouse-analytics', 'warehouse-orders'].sort(),
  );
  expect(held.reduce((n, r) => n + Object.values(r.counts)[0], 0)).toBeGreaterThan(0);
  expect(clean.mismatches).toBe(0);
});

it('holds again after the processor is killed mid-stream and restarted', async () => {
  const processor = mesh.services.find((s) => s.name === 'processor')!;
  let restarted = false;
  await publish(SENDS, 11, async (sent) => {
    if (restarted || sent < SENDS / 2) return;
    restarted = true;
    const killed = processor.pid;
    process.kill(-killed, 'SIGKILL');
    // npm start's supervisor starts it again on its port (shared/local/supervisor.ts).
    await eventually(() => (processor.restarts === 1 && processor.state === 'running' ? true : undefined), 60_000, 'the processor restarted');
    expect(processor.pid).not.toBe(killed);
  });
  expect(restarted).toBe(true);
  // mesh status shows it: restarted once, killed by SIGKILL.
  const status = await readMeshStatus(spec, mesh.serviceUrls);
  expect(status.services.processor.supervisor).toMatchObject({ state: 'running', restarts: 1, lastExit: { signal: 'SIGKILL' } });
  await afterMinuteOf(Date.now());
  const report = await parityHolds();
  expect(report.mismatches).toBe(0);
  expect(report.rows.filter((r) => r.check === 'events').reduce((n, r) => n + (r.counts.warehouse ?? 0), 0)).toBeGreaterThan(SENDS * 1.5);
});

it("runs on the schedule npm start sets up, and the dashboard serves each topic's latest result", async () => {
  const results: (ParityReport | undefined)[] = [];
  const schedule = scheduleParity({ spec, endpoints: mesh, dashboardUrl: mesh.serviceUrls.dashboard, everyMs: 500, onRun: (r) => results.push(r) });
  try {
    await eventually(() => (results.length >= 2 ? true : undefined), 120_000, 'two scheduled runs');
  } finally {
    await schedule.stop();
  }
  expect(results.every((r) => r && r.mismatches === 0)).toBe(true);
  // Each run also went to parity_results: a row per topic and window, the same verdicts.
  const [stored] = await target.bigquery.query({
    query: `SELECT run_id, run_at, topic, window_key, verdict, checks FROM \`${spec.warehouse.dataset}.${PARITY_RESULTS_TABLE}\` WHERE run_at >= @since`,
    params: { since: new Date(Date.parse(results[0]!.at) - 1000).toISOString() },
  });
  const runs = new Set(stored.map((r: { run_id: string }) => r.run_id));
  expect(runs.size).toBeGreaterThanOrEqual(2);
  expect(new Set(stored.map((r: { topic: string }) => r.topic))).toEqual(new Set(['analytics', 'orders']));
  expect(stored.filter((r: { verdict: string }) => r.verdict === 'mismatch')).toEqual([]);
  const response = await fetch(`${mesh.serviceUrls.dashboard}/api/parity`);
  const body = (await response.json()) as { records: { topic: string; verdict: string; checks: number; at: string }[] };
  expect(body.records.map((r) => r.topic)).toEqual(['analytics', 'orders']);
  for (const r of body.records) {
    expect(r.verdict).not.toBe('mismatch');
    expect(r.checks).toBeGreaterThan(0);
    expect(Date.parse(r.at)).toBeGreaterThan(Date.now() - 120_000);
  }
});

it('reports a dashboard counter decremented by hand, in that window, for that type only', async () => {
  const row = clean.rows.find((r) => r.check === 'events' && r.topic === 'analytics' && r.item === 'view' && (r.counts.dashboard ?? 0) > 0)!;
  const shards = await target.firestore
    .collection(firestorePaths.dashboardShards('minute'))
    .where('start', '==', Timestamp.fromMillis(Date.parse(row.start)))
    .get();
  const shard = shards.docs.find((d) => Number(d.get('events')?.analytics?.view ?? 0) > 0)!;
  await shard.ref.update({ 'events.analytics.view': FieldValue.increment(-1) });
  try {
    const report = await parity();
    const bad = report.rows.filter((r) => r.verdict === 'mismatch');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ topic: 'analytics', window: row.window, check: 'events', item: 'view' });
    expect(bad[0].counts.dashboard).toBe(bad[0].counts.warehouse! - 1 - (bad[0].held?.dashboard ?? 0));
    expect(bad[0].differences[0].sink).toBe('dashboard');
    expect(bad[0].differences[0].summary).toMatch(/1 view short, yet every event has its dashboard-analytics dedup record/);

    // The scheduled job's run (tools/parity/job.ts) records that difference everywhere it goes. Cloud
    // Monitoring does not exist here: a fake writer captures the metric request the job sends.
    const sent: Parameters<MetricWriter['createTimeSeries']>[0][] = [];
    const logged: LogLine[] = [];
    const { recorded } = await runParityJob({
      spec: { ...spec, parity: { ...spec.parity, granularity: 'minute', sinceSeconds: (Date.now() - startedAt) / 1000 + 60, settleSeconds: 2 } },
      target,
      dashboardUrl: mesh.serviceUrls.dashboard,
      metrics: { createTimeSeries: async (request) => void sent.push(request) },
      log: (line) => logged.push(line),
    });
    expect(sent).toHaveLength(1);
    expect(sent[0].name).toBe(`projects/${target.project}`);
    expect(sent[0].timeSeries.map((t) => [t.metric.labels.topic, t.points[0].value.int64Value])).toEqual([
      ['analytics', 1],
      ['orders', 0],
    ]);
    expect(logged.find((l) => (l.parity as { topic?: string } | undefined)?.topic === 'analytics')?.severity).toBe('ERROR');
    const [stored] = await target.bigquery.query({
      query: `SELECT topic, window_key, verdict, mismatches, differences FROM \`${spec.warehouse.dataset}.${PARITY_RESULTS_TABLE}\` WHERE run_id = @run`,
      params: { run: recorded.runId },
    });
    const mismatched = stored.filter((r: { verdict: string }) => r.verdict === 'mismatch');
    expect(mismatched.map((r: { topic: string; window_key: string; mismatches: number }) => [r.topic, r.window_key, Number(r.mismatches)])).toEqual([
      ['analytics', row.window, 1],
    ]);
    const differences = mismatched[0].differences;
    expect(JSON.stringify(typeof differences === 'string' ? JSON.parse(differences) : differences)).toMatch(/"sink":"dashboard".*1 view short/);
  } finally {
    await shard.ref.update({ 'events.analytics.view': FieldValue.increment(1) });
  }
});

it('reports a deleted processor projection as that order, in the processor', async () => {
  const orderRow = clean.rows.find((r) => r.check === 'orders' && r.item === 'shipped')!;
  expect(orderRow.counts.processor).toBeGreaterThan(0);
  const orders = await target.firestore.collection('orders').where('state', '==', 'shipped').limit(1).get();
  const victim = orders.docs[0];
  await victim.ref.delete();
  try {
    const report = await parity();
    const bad = report.rows.filter((r) => r.verdict === 'mismatch');
    expect(bad.map((r) => `${r.check} ${r.item}`)).toEqual(['orders shipped']);
    expect(bad[0].counts.processor).toBe(bad[0].counts.warehouse! - 1);
    expect(bad[0].differences).toEqual([
      expect.objectContaining({
        sink: 'processor',
        sample: [expect.stringMatching(new RegExp(`^${victim.id} \\(processor: none; warehouse replay: shipped seq \\d+\\)$`))],
      }),
    ]);
  } finally {
    await victim.ref.set(victim.data());
  }
  expect((await parity()).mismatches).toBe(0);
});

it('reports an event only the warehouse has as missing from the dashboard, with its id', async () => {
  const row = clean.rows.find((r) => r.check === 'events' && r.topic === 'analytics' && r.item === 'click')!;
  const id = `parity-test-only-in-warehouse-${Date.now()}`;
  const time = new Date(Date.parse(row.start) + 1000).toISOString();
  await target.bigquery
    .dataset(spec.warehouse.dataset)
    .table(eventsTableName('analytics'))
    .insert([{ event_id: id, event_type: 'click', source: '//parity-test', event_time: time, publish_time: time, message_id: 'x', data: JSON.stringify({}) }]);
  const report = await parity();
  const bad = report.rows.filter((r) => r.verdict === 'mismatch');
  expect(bad.map((r) => `${r.check} ${r.window} ${r.item}`)).toEqual([`events ${windowKey('minute', Date.parse(row.start))} click`]);
  expect(bad[0].differences[0]).toMatchObject({ sink: 'dashboard', sample: [id] });
});
