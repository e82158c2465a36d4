/**
 * One event followed from the producer to every sink, on the real Pub/Sub emulator and the local
 * BigQuery endpoint: the publisher's W3C traceparent reaches each consumer, whose per-event log line
 * carries it as Cloud Logging's trace fields (so both sinks' lines share one trace id); the producer's
 * CloudEvents extension attributes reach a handler as event.extensions and the warehouse's
 * `extensions` JSON column.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import type { PubSub } from '@google-cloud/pubsub';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { createLogger, createMeshService, type DecodedEvent, type DeadLetterSink, type MeshService } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { createWarehouseApp, type WarehouseApp } from '../../services/warehouse/app';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

const TRACE_PROJECT = 'cloudevents-test';
const spec = specFromText(`
version: 1
project: cloudevents-test
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click, view]
services:
  warehouse: { localPort: 18095 }
  worker: { localPort: 18096 }
consumers:
  warehouse-analytics: { topic: analytics, delivery: pull, service: warehouse, ackDeadline: 20s }
  worker-clicks: { topic: analytics, delivery: pull, service: worker }
warehouse: { dataset: cloudevents }
`);

/** A debug-level logger whose lines land in `lines` (per-event lines are debug). */
const capture = (lines: Record<string, unknown>[]) =>
  createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
const noSink: DeadLetterSink = { publish: async () => 'x', flush: async () => undefined };

let dir: string;
let local: LocalBigQuery;
let bigquery: BigQuery;
let pubsub: PubSub;
let warehouse: WarehouseApp;
let worker: MeshService;
let publisher: MeshPublisher;
const warehouseLines: Record<string, unknown>[] = [];
const workerLines: Record<string, unknown>[] = [];
const seen = new Map<string, DecodedEvent>();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudevents-system-'));
  local = await startLocalBigQuery({ dataFile: path.join(dir, 'bigquery.duckdb') });
  bigquery = new BigQuery({ projectId: TRACE_PROJECT, apiEndpoint: local.url });
  pubsub = testPubSub(uniqueProject('cloudevents'));
  await applyLocal({ pubsub, spec });
  warehouse = createWarehouseApp({
    spec,
    pubsub,
    bigquery,
    bigqueryProject: TRACE_PROJECT,
    archiveBigQuerySubscriptions: false,
    log: capture(warehouseLines),
    traceProject: TRACE_PROJECT,
    batch: { maxDelayMs: 50 },
  });
  await warehouse.start(0, '127.0.0.1');
  worker = createMeshService({
    spec,
    serviceName: 'worker',
    handlers: { 'worker-clicks': async (decoded) => (seen.set(decoded.event.id, decoded), 'done') },
    pubsub,
    deadLetter: () => noSink,
    log: capture(workerLines),
    traceProject: TRACE_PROJECT,
    pullTransport: 'unary',
  });
  await worker.start(0, '127.0.0.1');
  publisher = new MeshPublisher({ pubsub, spec, source: '//cloudevents-test' });
});

afterAll(async () => {
  await worker?.stop();
  await warehouse?.stop();
  await pubsub?.close();
  await local?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const handledLine = (lines: Record<string, unknown>[], eventId: string) => lines.find((l) => l.message === 'event handled' && l.eventId === eventId);

it("logs each sink's handling of one event under the producer's trace, and keeps its extensions", async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const { event } = await publisher.publish('analytics', 'click', { userId: 'u-1', page: '/a' }, { traceparent, extensions: { tenant: 'acme', region: 'eu' } });
  // And one with the trace the publisher starts itself.
  const { event: own } = await publisher.publish('analytics', 'view', { userId: 'u-2', postId: 'p-1' });

  const decoded = await eventually(async () => seen.get(event.id), 20_000, 'the worker handles the event');
  expect(decoded.event).toMatchObject({ traceparent, extensions: { tenant: 'acme', region: 'eu' }, dataschema: 'urn:event-mesh:schema:analytics:v2' });

  const trace = {
    'logging.googleapis.com/trace': `projects/${TRACE_PROJECT}/traces/4bf92f3577b34da6a3ce929d0e0e4736`,
    'logging.googleapis.com/spanId': '00f067aa0ba902b7',
    'logging.googleapis.com/trace_sampled': true,
  };
  expect(await eventually(async () => handledLine(workerLines, event.id), 20_000, "the worker's line")).toMatchObject({ ...trace, consumer: 'worker-clicks' });
  expect(await eventually(async () => handledLine(warehouseLines, event.id), 20_000, "the warehouse's line")).toMatchObject({
    ...trace,
    consumer: 'warehouse-analytics',
  });
  const ownTraceId = own.traceparent!.split('-')[1];
  for (const lines of [workerLines, warehouseLines])
    expect(await eventually(async () => handledLine(lines, own.id), 20_000, 'the line of the second event')).toMatchObject({
      'logging.googleapis.com/trace': `projects/${TRACE_PROJECT}/traces/${ownTraceId}`,
    });

  const rows = await eventually(
    async () => {
      const [found] = await bigquery.query(
        `SELECT event_id, JSON_VALUE(extensions, '$.tenant') AS tenant, JSON_VALUE(extensions, '$.region') AS region,
                JSON_VALUE(extensions, '$.traceparent') AS traceparent
         FROM cloudevents.analytics_events WHERE event_id IN ('${event.id}', '${own.id}') ORDER BY event_type`,
      );
      return found.length === 2 ? found : undefined;
    },
    20_000,
    'both rows in the warehouse',
  );
  expect(rows).toEqual([
    { event_id: event.id, tenant: 'acme', region: 'eu', traceparent },
    { event_id: own.id, tenant: null, region: null, traceparent: own.traceparent },
  ]);
});
