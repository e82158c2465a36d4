/**
 * An analyst's GROUP BY over 1,000,000 warehouse rows on the local BigQuery endpoint, against DuckDB
 * running the same aggregation (written by hand in DuckDB SQL) on the same file, in the same run.
 * Issue 23 asks `mesh query` to answer in under 1 s: DuckDB does the work in tens of milliseconds, so
 * what the endpoint adds (parse and translate, HTTP, the job, JSON rows, the client) must stay small.
 *
 * Reported: the ratio DuckDB alone / through the real @google-cloud/bigquery client (median of the
 * rounds), the translation alone, and the whole `mesh query` command as a user runs it (a new Node
 * process: start-up included).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BigQuery } from '@google-cloud/bigquery';
import { DuckDBInstance } from '@duckdb/node-api';
import { startLocalBigQuery, translateQuery } from '../shared/bigquery-local';
import { loadSpec } from '../shared/spec';
import { runWhenMain } from './standalone';
import { median } from './median';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const ROWS = Number(process.env.BENCH_QUERY_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_QUERY_ROUNDS ?? 5);
const ROOT = path.resolve(__dirname, '..');
/** `mesh query` reads mesh.yaml: the table lives in its project and warehouse dataset. */
const SPEC = loadSpec(path.join(ROOT, 'mesh.yaml'));
const PROJECT = SPEC.project;
const DATASET = SPEC.warehouse.dataset;
const TABLE = 'bench_query_events';

const SCHEMA = [
  { name: 'event_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'type', type: 'STRING', mode: 'REQUIRED' },
  { name: 'subject', type: 'STRING', mode: 'NULLABLE' },
  { name: 'event_time', type: 'TIMESTAMP', mode: 'REQUIRED' },
  { name: 'amount_cents', type: 'INT64', mode: 'NULLABLE' },
];

/** What an analyst asks: per type and hour of one week, events, distinct subjects and revenue. */
const BIGQUERY_SQL = `
SELECT type, TIMESTAMP_TRUNC(event_time, HOUR) AS hour, COUNT(*) AS events,
       COUNT(DISTINCT subject) AS subjects, SUM(amount_cents) AS amount_cents
FROM \`${PROJECT}.${DATASET}.${TABLE}\`
GROUP BY type, hour
ORDER BY hour, type`;

/** The same in DuckDB's own SQL, on the same table. */
const DUCKDB_SQL = `
SELECT type, date_trunc('hour', event_time) AS hour, COUNT(*) AS events,
       COUNT(DISTINCT subject) AS subjects, SUM(amount_cents) AS amount_cents
FROM ${DATASET}.${TABLE}
GROUP BY type, hour
ORDER BY hour, type`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Fills the table in DuckDB directly: 1M rows through insertAll would be the loader's bench, not this one. */
async function fill(dataFile: string): Promise<{ duckdbMs: number[]; groups: number }> {
  const instance = await DuckDBInstance.create(dataFile);
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run(`
      INSERT INTO ${DATASET}.${TABLE}
      SELECT 'e-' || i, ['page.viewed', 'cart.added', 'order.paid', 'order.shipped', 'user.signed_up'][1 + i % 5],
             CASE WHEN i % 50 = 0 THEN NULL ELSE 'u-' || (i % 20000) END,
             TIMESTAMPTZ '2026-11-23 00:00:00+00' + to_microseconds((i * 604800000000 // ${ROWS})::BIGINT),
             CASE WHEN i % 5 = 2 THEN 500 + i % 20000 END
      FROM range(${ROWS}) t(i)`);
    const duckdbMs: number[] = [];
    let groups = 0;
    for (let round = 0; round < ROUNDS; round++) {
      duckdbMs.push(
        await timed(async () => {
          groups = (await connection.runAndReadAll(DUCKDB_SQL)).getRows().length;
        }),
      );
    }
    return { duckdbMs, groups };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export async function run(progress: (line: string) => void): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-query-'));
  const dataFile = path.join(dir, 'bigquery.duckdb');
  try {
    let local = await startLocalBigQuery({ dataFile });
    let bigquery = new BigQuery({ projectId: PROJECT, apiEndpoint: local.url });
    const [dataset] = await bigquery.createDataset(DATASET, { location: SPEC.warehouse.location });
    await dataset.createTable(TABLE, { schema: { fields: SCHEMA } });
    await local.stop();

    progress(`filling ${ROWS.toLocaleString('en-US')} rows, then DuckDB alone x${ROUNDS}`);
    const { duckdbMs, groups } = await fill(dataFile);

    local = await startLocalBigQuery({ dataFile });
    bigquery = new BigQuery({ projectId: PROJECT, apiEndpoint: local.url });
    try {
      // A comment makes each text new: the translator keeps recent translations by text.
      const translateMs = median(await Promise.all(Array.from({ length: 20 }, (_, i) => timed(async () => translateQuery(`${BIGQUERY_SQL}\n-- ${i}`)))));
      progress(`through the client x${ROUNDS}`);
      const clientMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        clientMs.push(
          await timed(async () => {
            const [rows] = await bigquery.query({ query: BIGQUERY_SQL });
            if (rows.length !== groups) throw new Error(`the endpoint returned ${rows.length} groups, DuckDB ${groups}`);
          }),
        );
      }
      progress('`mesh query` as a user runs it (a new process)');
      const commandMs = await timed(() =>
        promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'tools', 'mesh.ts'), 'query', '--json', BIGQUERY_SQL], {
          cwd: ROOT,
          env: { ...process.env, BIGQUERY_EMULATOR_HOST: local.url },
          maxBuffer: 64 * 1024 * 1024,
        }),
      );
      const duckdb = median(duckdbMs);
      const client = median(clientMs);
      return [
        {
          name: `query: GROUP BY over ${ROWS.toLocaleString('en-US')} rows through the endpoint`,
          baseline: 'DuckDB alone, same aggregation and file',
          ratio: duckdb / client,
          detail:
            `median ${client.toFixed(0)} ms through the client (${groups} groups), DuckDB alone ${duckdb.toFixed(0)} ms, ` +
            `translation ${translateMs.toFixed(2)} ms; \`mesh query\` ${commandMs.toFixed(0)} ms with Node start-up ` +
            `(goal: under 1 s through the endpoint: ${client < 1000 ? 'met' : 'MISSED'})`,
        },
      ];
    } finally {
      await local.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
