/**
 * The end-to-end contract test of issue 22, generated per topic from the spec: samples of every
 * accepted revision (the older ones above all: producers still on them) are published with the
 * real client to the whole local mesh (npm start's code, real emulators and services); every
 * service consumer handles each of them without a dead letter, the warehouse holds them by revision,
 * and a `mesh replay` of them through today's processor completes with every one applied already.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { MeshPublisher } from '../../shared/publisher';
import { samplePayload, topicSchemas } from '../../shared/schemas';
import { eventsTableName } from '../../shared/warehouse';
import { eventually } from '../support/emulators';
import { startTestMesh, type TestMesh } from '../support/local-mesh';

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');
const SOURCE = '//schema-contracts';
let t: TestMesh;

beforeAll(async () => {
  t = await startTestMesh('contracts');
});
afterAll(async () => {
  await t?.close();
});

type Counters = { received: number; done: number; duplicate: number; deadLettered: number };
async function stats(service: string): Promise<Record<string, Counters>> {
  return ((await (await fetch(`${t.mesh.serviceUrls[service]}/stats`)).json()) as { consumers: Record<string, Counters> }).consumers;
}

async function mesh(args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, MESH_OPERATOR: 'contract-test' };
  for (const name of ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'BIGQUERY_EMULATOR_HOST']) delete env[name];
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'tools/mesh.ts', '--spec', t.spec.file, ...args], { cwd: ROOT, env, timeout: 240_000 });
  return stdout;
}

it('every accepted revision of every topic reaches every consumer, the warehouse, and a replay through today’s processor', async () => {
  const publisher = new MeshPublisher({ pubsub: t.target.pubsub, spec: t.spec, source: SOURCE });
  const before: Record<string, Record<string, Counters>> = {};
  for (const service of Object.keys(t.spec.services)) before[service] = await stats(service);
  const from = new Date(Date.now() - 1000);

  // One sample per revision and event type; each with a key of its own (an order's lifecycle is not the point here).
  const sent: Record<string, Record<string, number>> = {};
  for (const topic of Object.values(t.spec.topics)) {
    sent[topic.name] = {};
    for (const revision of topicSchemas(t.spec, topic.name).accepted) {
      for (const type of topic.eventTypes) {
        const data = samplePayload(revision, 'full');
        if (topic.orderingKeyField) data[topic.orderingKeyField] = `${revision.name}-${type}-${process.pid}`;
        await publisher.publish(topic.name, type, data, { schemaVersion: revision.name });
        sent[topic.name][revision.name] = (sent[topic.name][revision.name] ?? 0) + 1;
      }
    }
  }

  // Every service consumer handles each one, none dead-lettered.
  for (const consumer of Object.values(t.spec.consumers)) {
    if (!consumer.service) continue;
    const expected = Object.values(sent[consumer.topic]).reduce((a, b) => a + b, 0);
    const handled = (c?: Counters) => (c ? c.done + c.duplicate : 0);
    const now = await eventually(
      async () => {
        const c = (await stats(consumer.service!))[consumer.name];
        return handled(c) - handled(before[consumer.service!][consumer.name]) >= expected ? c : undefined;
      },
      180_000,
      `${consumer.name} to handle the ${expected} samples`,
    );
    expect([consumer.name, now.deadLettered - (before[consumer.service][consumer.name]?.deadLettered ?? 0)]).toEqual([consumer.name, 0]);
  }

  // The warehouse holds them under the revision each was written with.
  for (const topic of Object.keys(t.spec.topics)) {
    const [rows] = await t.target.bigquery.query({
      query: `SELECT schema_version AS revision, COUNT(*) AS n FROM \`${t.target.project}.${t.spec.warehouse.dataset}.${eventsTableName(topic)}\` WHERE source = @source GROUP BY schema_version ORDER BY revision`,
      params: { source: SOURCE },
    });
    expect(Object.fromEntries((rows as { revision: string; n: number }[]).map((r) => [r.revision, Number(r.n)]))).toEqual(sent[topic]);
  }

  // A replay of them (read from the warehouse as today's revision) through today's processor: all applied already.
  const to = new Date();
  for (const consumer of ['processor-orders', 'processor-analytics']) {
    const topic = t.spec.consumers[consumer].topic;
    const total = Object.values(sent[topic]).reduce((a, b) => a + b, 0);
    const out = await mesh([
      'replay',
      'request',
      '--consumer',
      consumer,
      '--from',
      from.toISOString(),
      '--to',
      to.toISOString(),
      '--owner',
      'contract-test',
      '--intent',
      'schema contract: older revisions through today',
    ]);
    expect(out).toMatch(new RegExp(`completed: ${total} sent to ${consumer}`));
    const duplicates = await eventually(
      async () => {
        const c = (await stats('processor'))[consumer];
        return c.duplicate - (before.processor[consumer]?.duplicate ?? 0) >= total ? c : undefined;
      },
      120_000,
      `${consumer} to see the ${total} replayed events as applied already`,
    );
    expect(duplicates.deadLettered - (before.processor[consumer]?.deadLettered ?? 0)).toBe(0);
  }
});
