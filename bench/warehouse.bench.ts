/**
 * Warehouse loading throughput on the local BigQuery endpoint, against the raw DuckDB appender writing
 * the same rows in-process, in the same run:
 *
 * - the loader end to end: the warehouse service (services/warehouse) draining a backlog of orders
 *   events from the Pub/Sub emulator (StreamingPull, decode, batching, insertAll, ack) into the local
 *   endpoint; against a raw no-op pull of the same backlog, and against its work done by hand (the raw
 *   client, rows mapped, 500-row insertAll, ack after it: no consumer runtime of ours);
 * - tabledata.insertAll alone through the real @google-cloud/bigquery client (HTTP, JSON, schema
 *   checks, insertId dedup, DuckDB appender), and the effect of the insertAll batch size (100 / 2000
 *   rows per request against the recommended 500).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery, type Table } from '@google-cloud/bigquery';
import { DuckDBInstance, DuckDBTimestampTZValue } from '@duckdb/node-api';
import { loadSpec, type MeshSpec } from '../shared/spec';
import { eventsTableSchema } from '../shared/warehouse';
import { duckTypeOf } from '../shared/bigquery-local/sql';
import { ensureWarehouse } from '../services/warehouse/tables';
import { eventRow, insertBatch, type InsertRow } from '../services/warehouse/rows';
import type { Message } from '@google-cloud/pubsub';
import { createLogger } from '../shared/consumer';
import { fromPubsubMessage } from '../shared/envelope';
import { emulatorPubSub, startPubsubEmulator, type RunningEmulator } from '../shared/emulators';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { createWarehouseApp } from '../services/warehouse/app';
import { withOnlyConsumers } from './spec-cut';
import { median } from './median';
import { groupCpuSeconds } from './cpu';
import { startLocalBigQueryProcess, type LocalBigQueryProcess } from './local-bigquery-process';
import { runWhenMain } from './standalone';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const ROWS = Number(process.env.BENCH_WAREHOUSE_ROWS ?? 20000);
const ROUNDS = Number(process.env.BENCH_WAREHOUSE_ROUNDS ?? 3);
const LOADER_EVENTS = Number(process.env.BENCH_WAREHOUSE_LOADER_EVENTS ?? 10000);
// Three: each side drains first, second and last once (later sides run slower: the round's earlier rows and insertIds are on disk).
const LOADER_ROUNDS = Number(process.env.BENCH_WAREHOUSE_LOADER_ROUNDS ?? 3);

function orderRows(spec: MeshSpec, n: number, prefix: string): InsertRow[] {
  const now = Date.now();
  const types = ['order.created', 'order.paid', 'order.shipped'];
  return Array.from({ length: n }, (_, i) =>
    eventRow(spec.topics.orders, {
      event: {
        id: `${prefix}-${i}`,
        type: types[i % 3],
        source: '//checkout/api',
        time: new Date(now - (n - i) * 10).toISOString(),
        schemaVersion: 'v2',
        specversion: '1.0',
        datacontenttype: 'application/json',
        data: {
          orderId: `o-${Math.floor(i / 3)}`,
          customerId: `c-${i % 500}`,
          sequence: (i % 3) + 1,
          amountCents: 500 + (i % 20000),
          currency: 'USD',
          itemCount: 1 + (i % 5),
          reason: '',
          carrier: i % 3 === 2 ? 'dhl' : '',
        },
      },
      messageId: String(1e12 + i),
      publishTime: new Date(now - (n - i) * 10 + 5),
      orderingKey: `o-${Math.floor(i / 3)}`,
      attributes: { 'ce-id': `${prefix}-${i}`, 'ce-type': types[i % 3], 'ce-source': '//checkout/api', 'ce-specversion': '1.0' },
    }),
  );
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/** Baseline: the same rows through a DuckDB appender in this process, no HTTP, no JSON, no checks. */
async function appenderRowsPerSecond(spec: MeshSpec, rows: InsertRow[]): Promise<number> {
  const columns = eventsTableSchema(spec.topics.orders);
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    await connection.run(`CREATE TABLE t (${columns.map((c) => `"${c.name}" ${duckTypeOf(c.type)}`).join(', ')})`);
    const start = process.hrtime.bigint();
    const appender = await connection.createAppender('t');
    for (const { json } of rows) {
      for (const c of columns) {
        const v = json[c.name];
        if (v === null || v === undefined) appender.appendNull();
        else if (c.type === 'TIMESTAMP') appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(Date.parse(String(v))) * 1000n));
        else if (c.type === 'INT64') appender.appendBigInt(BigInt(v as number));
        else appender.appendVarchar(String(v));
      }
      appender.endRow();
    }
    appender.closeSync();
    const elapsed = seconds(start);
    connection.closeSync();
    return rows.length / elapsed;
  } finally {
    instance.closeSync();
  }
}

async function insertAllRowsPerSecond(table: Table, rows: InsertRow[], batch: number): Promise<number> {
  const start = process.hrtime.bigint();
  const result = await insertBatch(table, rows, { maxRows: batch });
  const elapsed = seconds(start);
  if (result.failed.length) throw new Error(`bench rows failed: ${JSON.stringify(result.failed[0].errors)}`);
  return rows.length / elapsed;
}

const SIDES = ['loader', 'byHand', 'raw'] as const;
type Side = (typeof SIDES)[number];
/** CPU ms per 1,000 events: this process's (the consumer), the endpoint's and the emulator's (NaN off Linux). */
interface CpuPer1000 {
  own: number;
  endpoint: number;
  emulator: number;
}

/**
 * Events/s of the warehouse service draining a backlog of LOADER_EVENTS orders events from the
 * emulator, timed from start() (tables already made) until every row is acked; and of the raw client
 * acking the same backlog with a no-op handler (a second subscription on the topic, same ordering and
 * flow control) in the same round. The order of the sides rotates between rounds, so over three each
 * takes each place once: a later side drains slower (the loader 15–25 % slower last than first),
 * and a side always in the same place would be judged by its place.
 */
async function loaderRound(
  emulator: RunningEmulator,
  local: LocalBigQueryProcess,
  bigquery: BigQuery,
  table: Table,
  round: number,
): Promise<{ rates: Record<Side, number>; cpuPer1000: Record<Side, CpuPer1000> }> {
  const spec = withOnlyConsumers(loadSpec(), ['warehouse-orders']);
  const consumer = spec.consumers['warehouse-orders'];
  const pubsub = emulatorPubSub(emulator.hostPort, `bench-warehouse-${round}`);
  try {
    await applyLocal({ pubsub, spec });
    const [metadata] = await pubsub.subscription('warehouse-orders').getMetadata();
    const raw = pubsub.topic(consumer.topic).subscription('bench-raw-orders');
    await pubsub.topic(consumer.topic).createSubscription('bench-raw-orders', { enableMessageOrdering: metadata.enableMessageOrdering === true });
    const byHandSubscription = pubsub.topic(consumer.topic).subscription('bench-by-hand-orders');
    await pubsub.topic(consumer.topic).createSubscription('bench-by-hand-orders', { enableMessageOrdering: metadata.enableMessageOrdering === true });
    const publisher = new MeshPublisher({ pubsub, spec, source: '//bench' });
    const types = ['order.created', 'order.paid', 'order.shipped'];
    await Promise.all(
      Array.from({ length: LOADER_EVENTS }, (_, i) =>
        publisher.publish('orders', types[i % 3], {
          orderId: `o-${round}-${Math.floor(i / 3)}`,
          customerId: `c-${i % 500}`,
          sequence: (i % 3) + 1,
          amountCents: 500 + i,
          currency: 'USD',
          itemCount: 1,
        }),
      ),
    );
    /** The raw client on `name`, with the loader's flow control. */
    const rawSubscription = (name: string) =>
      pubsub.subscription(name, {
        flowControl: { maxMessages: consumer.flowControl.maxMessages, maxBytes: consumer.flowControl.maxBytes, allowExcessMessages: false },
      });
    const drainRaw = async () => {
      let acked = 0;
      const sub = rawSubscription(raw.name);
      const start = process.hrtime.bigint();
      sub.on('message', (m) => {
        m.ack();
        acked++;
      });
      while (acked < LOADER_EVENTS) await new Promise((r) => setTimeout(r, 20));
      const elapsed = seconds(start);
      await sub.close();
      return LOADER_EVENTS / elapsed;
    };
    const drainLoader = async () => {
      const app = createWarehouseApp({ spec, pubsub, bigquery, bigqueryProject: spec.project, log: createLogger({ level: 'silent' }) });
      const start = process.hrtime.bigint();
      await app.start(0, '127.0.0.1');
      const counters = app.stats.of('warehouse-orders');
      while (counters.done + counters.duplicate < LOADER_EVENTS) await new Promise((r) => setTimeout(r, 20));
      const elapsed = seconds(start);
      await app.stop();
      return LOADER_EVENTS / elapsed;
    };
    /**
     * The loader's work by hand, with no consumer runtime of ours: the raw client, each message mapped
     * to its row, 500-row batches (or what 200 ms gathered) through insertAll, each message acked once
     * its batch is stored.
     */
    const drainByHand = async () => {
      let acked = 0;
      let refused: Error | undefined;
      let batch: { message: Message; row: InsertRow }[] = [];
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        clearTimeout(timer);
        timer = undefined;
        const taken = batch;
        batch = [];
        void insertBatch(
          table,
          taken.map((b) => b.row),
        ).then(
          ({ failed }) => {
            // A baseline that counted refused rows as stored would flatter itself.
            if (failed.length) refused ??= new Error(`by hand: bench rows failed: ${JSON.stringify(failed[0].errors)}`);
            for (const b of taken) b.message.ack();
            acked += taken.length;
          },
          () => taken.forEach((b) => b.message.nack()),
        );
      };
      const sub = rawSubscription(byHandSubscription.name);
      const start = process.hrtime.bigint();
      sub.on('message', (message: Message) => {
        const delivery = { event: fromPubsubMessage(message), messageId: message.id, publishTime: message.publishTime, attributes: message.attributes };
        const row = eventRow(spec.topics.orders, delivery);
        // Its own insertIds: the loader stores the same messages, and the endpoint would skip them as duplicates.
        batch.push({ message, row: { ...row, insertId: `by-hand-${row.insertId}` } });
        if (batch.length >= 500) flush();
        else timer ??= setTimeout(flush, 200);
      });
      while (acked < LOADER_EVENTS) {
        if (refused) throw refused;
        await new Promise((r) => setTimeout(r, 20));
      }
      const elapsed = seconds(start);
      await sub.close();
      return LOADER_EVENTS / elapsed;
    };
    const order = SIDES.map((_, i) => SIDES[(i + round - 1) % SIDES.length]);
    const drains = { raw: drainRaw, byHand: drainByHand, loader: drainLoader };
    const rates: Record<Side, number> = { raw: 0, byHand: 0, loader: 0 };
    const cpuPer1000 = {} as Record<Side, CpuPer1000>;
    for (const side of order) {
      const before = process.cpuUsage();
      const endpointBefore = local.cpuSeconds();
      const emulatorBefore = groupCpuSeconds(emulator.process.pid);
      rates[side] = await drains[side]();
      const used = process.cpuUsage(before);
      const per1000 = (seconds: number) => (seconds * 1000) / (LOADER_EVENTS / 1000);
      cpuPer1000[side] = {
        own: per1000((used.user + used.system) / 1e6),
        endpoint: per1000(local.cpuSeconds() - endpointBefore),
        emulator: per1000(groupCpuSeconds(emulator.process.pid) - emulatorBefore),
      };
    }
    return { rates, cpuPer1000 };
  } finally {
    await pubsub.close();
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const spec = loadSpec();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-warehouse-'));
  let local: LocalBigQueryProcess | undefined;
  let emulator: RunningEmulator | undefined;
  try {
    // A file, as `npm start` uses, so the numbers include DuckDB's writes to disk; a process of its
    // own, as `npm start` runs it apart from the warehouse service (local-bigquery-process.ts).
    local = await startLocalBigQueryProcess(path.join(dir, 'bigquery.duckdb'));
    const bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: local.url });
    const { events } = await ensureWarehouse(bigquery, spec, { project: spec.project });
    const table = events.orders;
    // Warm up the client, the connection and DuckDB.
    await insertBatch(table, orderRows(spec, 1000, 'warmup'));
    let appender = 0;
    const best: Record<number, number> = { 100: 0, 500: 0, 2000: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      const rows = orderRows(spec, ROWS, `r${round}`);
      appender = Math.max(appender, await appenderRowsPerSecond(spec, rows));
      // Alternate the order of the batch sizes between rounds; every run inserts new event ids.
      const sizes = round % 2 ? [100, 500, 2000] : [2000, 500, 100];
      for (const size of sizes) best[size] = Math.max(best[size], await insertAllRowsPerSecond(table, orderRows(spec, ROWS, `r${round}-b${size}`), size));
      progress(
        `warehouse round ${round}/${ROUNDS}: appender ${appender.toFixed(0)} rows/s; insertAll ${sizes.map((s) => `${s}/req ${best[s].toFixed(0)}`).join(', ')} rows/s (best so far)`,
      );
    }
    emulator = await startPubsubEmulator();
    let loader = 0;
    let rawPull = 0;
    let byHand = 0;
    const cpu: Record<Side, CpuPer1000[]> = { loader: [], byHand: [], raw: [] };
    for (let round = 1; round <= LOADER_ROUNDS; round++) {
      const { rates: measured, cpuPer1000 } = await loaderRound(emulator, local, bigquery, table, round);
      loader = Math.max(loader, measured.loader);
      rawPull = Math.max(rawPull, measured.raw);
      byHand = Math.max(byHand, measured.byHand);
      for (const side of SIDES) cpu[side].push(cpuPer1000[side]);
      progress(
        `warehouse loader round ${round}/${LOADER_ROUNDS}: ${loader.toFixed(0)} events/s from the emulator, raw no-op pull ${rawPull.toFixed(0)} msg/s, its work by hand ${byHand.toFixed(0)} rows/s (best so far)`,
      );
    }
    const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')} rows/s`;
    const cpuOf = (side: Side) => {
      const of = (part: keyof CpuPer1000) => Math.round(median(cpu[side].map((c) => c[part])));
      return Number.isNaN(of('endpoint')) ? `${of('own')} ms` : `${of('own')} + ${of('endpoint')} + ${of('emulator')} ms`;
    };
    return [
      {
        name: 'warehouse loader (emulator -> local endpoint)',
        baseline: 'raw DuckDB appender, same kind of rows, in-process',
        ratio: loader / appender,
        detail: `backlog of ${LOADER_EVENTS} orders events drained by the warehouse service (StreamingPull, decode, 500-row batches, insertAll, ack; emulator, loader and endpoint each a process, on one machine), best of ${LOADER_ROUNDS}: ${rate(loader)} vs appender ${rate(appender)}`,
      },
      {
        name: 'warehouse loader vs a raw pull',
        baseline: 'raw @google-cloud/pubsub subscriber, no-op handler, same backlog, ordering and flow control',
        ratio: loader / rawPull,
        goal: 0.8,
        detail: `${LOADER_EVENTS} orders events, best of ${LOADER_ROUNDS}: loader ${rate(loader)} vs raw pull ${Math.round(rawPull).toLocaleString('en-US')} msg/s`,
      },
      {
        name: 'warehouse loader vs its work by hand',
        baseline: 'the raw client, rows mapped, 500-row insertAll, acked after it (no consumer runtime of ours)',
        ratio: loader / byHand,
        detail: `${LOADER_EVENTS} orders events, best of ${LOADER_ROUNDS}: loader ${rate(loader)} vs by hand ${rate(byHand)}; CPU per 1,000 events (median), the consumer's process + the endpoint's + the emulator's: loader ${cpuOf('loader')}, by hand ${cpuOf('byHand')}, raw pull ${cpuOf('raw')}: our runtime's cost on the loader's path (the endpoint is a process of its own, as in \`npm start\`)`,
      },
      {
        name: 'warehouse loader vs insertAll',
        baseline: "the local endpoint's own insertAll ceiling (500 rows/request, the line below)",
        ratio: loader / best[500],
        goal: 0.5,
        detail: `loader ${rate(loader)} vs insertAll ${rate(best[500])}`,
      },
      {
        name: 'warehouse insertAll (local endpoint)',
        baseline: 'raw DuckDB appender, same rows, in-process',
        ratio: best[500] / appender,
        detail: `${ROWS} orders rows per run, 500 rows/request through @google-cloud/bigquery (the client in this process, the endpoint in its own), best of ${ROUNDS}: ${rate(best[500])} vs appender ${rate(appender)}`,
      },
      {
        name: 'warehouse insertAll 100 rows/request',
        baseline: 'insertAll 500 rows/request',
        ratio: best[100] / best[500],
        detail: `${rate(best[100])} vs ${rate(best[500])}`,
      },
      {
        name: 'warehouse insertAll 2000 rows/request',
        baseline: 'insertAll 500 rows/request',
        ratio: best[2000] / best[500],
        detail: `${rate(best[2000])} vs ${rate(best[500])}`,
      },
    ];
  } finally {
    await emulator?.stop();
    await local?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
