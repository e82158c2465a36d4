/**
 * `mesh query "<BigQuery SQL>"`: the analysts' way in. Locally it talks to the BigQuery-compatible
 * endpoint `npm start` serves (http://127.0.0.1:<local.bigqueryPort>, or BIGQUERY_EMULATOR_HOST);
 * with --gcp to BigQuery itself. Same client, same SQL.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { BigQuery } from '@google-cloud/bigquery';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { localBigQueryUrl } from '../../shared/bigquery-local/address';
import { analystQueries, analystQuery } from '../../services/warehouse/analyst-queries';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';

interface QueryOptions {
  example?: string;
  examples?: boolean;
  json?: boolean;
  gcp?: boolean;
  maxRows: string;
}

/** BigQueryTimestamp, BigQueryDate, Big ... -> plain values for printing. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object') {
    const wrapped = value as { value?: unknown; constructor?: { name?: string } };
    if (wrapped.value !== undefined && /^(BigQuery|Geography)/.test(wrapped.constructor?.name ?? '')) return wrapped.value;
    if (wrapped.constructor?.name === 'Big') return String(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const cell = (value: unknown) => (value === null ? 'NULL' : typeof value === 'object' ? JSON.stringify(value) : String(value));

export async function warehouseClient(spec: MeshSpec, gcp: boolean): Promise<{ bigquery: BigQuery; where: string; project: string }> {
  if (gcp) {
    // The emulator variable would send the "real" client to the local endpoint.
    delete process.env.BIGQUERY_EMULATOR_HOST;
    const bigquery = new BigQuery({ projectId: process.env.GOOGLE_CLOUD_PROJECT, location: spec.warehouse.location });
    const project = await bigquery.getProjectId().catch((error: Error) => {
      throw new UserError(`cannot tell which GCP project to query (set GOOGLE_CLOUD_PROJECT): ${error.message.split('\n')[0]}`);
    });
    return { bigquery, where: `BigQuery project ${project}`, project };
  }
  const url = localBigQueryUrl(spec);
  // No GCE metadata server to look for credentials on: the local endpoint needs none.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch {
    throw new UserError(`no local BigQuery endpoint answers at ${url}; start the local mesh with \`npm start\` (or use --gcp)`);
  }
  return { bigquery: new BigQuery({ projectId: spec.project, apiEndpoint: url }), where: url, project: spec.project };
}

export function register(program: Command): void {
  program
    .command('query')
    .description('run BigQuery SQL on the warehouse: the local endpoint of `npm start`, or BigQuery itself with --gcp')
    .argument('[sql]', 'BigQuery SQL ("-" reads it from stdin); tables may be named dataset.table or, in the warehouse dataset, just table')
    .option('--example <name>', 'run one of the documented analyst queries (docs/analysts.md)')
    .option('--examples', 'list the documented analyst queries')
    .option('--json', 'print the rows as JSON')
    .option('--gcp', 'query BigQuery in GCP (application default credentials, project from GOOGLE_CLOUD_PROJECT)')
    .option('--max-rows <n>', 'print at most this many rows', '1000')
    .action(async (sqlArgument: string | undefined, options: QueryOptions) => {
      if (options.examples) {
        printTable(
          ['example', 'what it answers'],
          analystQueries().map((q) => [q.name, q.description.replace(/\. .*$/, '.')]),
        );
        console.log('run one with: npm run mesh -- query --example <name>');
        return;
      }
      let sql = options.example ? analystQuery(options.example).sql : sqlArgument;
      if (sql === '-') sql = fs.readFileSync(0, 'utf8');
      if (!sql?.trim()) throw new UserError('give the SQL to run, e.g. mesh query "SELECT COUNT(*) FROM orders_events", or --example <name> (see --examples)');
      const spec = loadSpec(program.opts().spec);
      const { bigquery, where, project } = await warehouseClient(spec, options.gcp === true);
      let rows: Record<string, unknown>[];
      let fields: string[] | undefined;
      try {
        const [result, , response] = (await bigquery.query({
          query: sql,
          defaultDataset: { datasetId: spec.warehouse.dataset, projectId: project },
          location: spec.warehouse.location,
        })) as unknown as [Record<string, unknown>[], unknown, { schema?: { fields?: { name: string }[] } } | undefined];
        rows = result;
        fields = response?.schema?.fields?.map((f) => f.name);
      } catch (error) {
        // BigQuery's own message (with "unsupported locally: ..." from the local endpoint) says it all.
        throw new UserError(`query failed on ${where}: ${(error as Error).message}`);
      }
      const values = rows.map((r) => plain(r) as Record<string, unknown>);
      if (options.json) {
        console.log(JSON.stringify(values, null, 2));
        return;
      }
      const head = fields ?? Object.keys(values[0] ?? {});
      if (!values.length) {
        console.log(`(no rows${head.length ? `; columns: ${head.join(', ')}` : ''})`);
        return;
      }
      const max = Math.max(1, Number(options.maxRows) || 1000);
      printTable(
        head,
        values.slice(0, max).map((r) => head.map((h) => cell(r[h]))),
      );
      console.log(values.length > max ? `${max} of ${values.length} rows shown (--max-rows)` : `${values.length} row${values.length === 1 ? '' : 's'}`);
    });
}
