/**
 * Where the local BigQuery endpoint is, without loading it: the CLI's `mesh query` and `mesh smoke`
 * only need the URL, and the endpoint itself loads DuckDB and the SQL parser (hundreds of modules).
 */
import * as path from 'node:path';
import type { MeshSpec } from '../spec/types';

/** Where `npm start` serves it: the spec's port, data kept in the spec's data folder. */
export function localBigQueryOptions(spec: Pick<MeshSpec, 'local'>): { port: number; dataFile: string } {
  return { port: spec.local.bigqueryPort, dataFile: path.join(spec.local.dataDir, 'bigquery.duckdb') };
}

/** The URL the real client is pointed at locally: BIGQUERY_EMULATOR_HOST if set, else the spec's port. */
export function localBigQueryUrl(spec: Pick<MeshSpec, 'local'>): string {
  return process.env.BIGQUERY_EMULATOR_HOST ?? `http://127.0.0.1:${spec.local.bigqueryPort}`;
}
