/**
 * A BigQuery-compatible endpoint backed by DuckDB, so the warehouse loader and analysts' queries take
 * the same code path (`@google-cloud/bigquery`) locally as in GCP. See server.ts for the REST subset
 * and sql/ for the BigQuery SQL it translates.
 */
import * as path from 'node:path';
import type { MeshSpec } from '../spec/types';

export { startLocalBigQuery, type LocalBigQuery, type LocalBigQueryOptions } from './server';
export { translateQuery, tokenize, UnsupportedLocallyError, TRANSLATED_FUNCTIONS } from './sql';
export { LocalBigQueryStore } from './store';

/** Where `npm start` serves it: the spec's port, data kept in the spec's data folder. */
export function localBigQueryOptions(spec: Pick<MeshSpec, 'local'>): { port: number; dataFile: string } {
  return { port: spec.local.bigqueryPort, dataFile: path.join(spec.local.dataDir, 'bigquery.duckdb') };
}

/** The URL the real client is pointed at locally: BIGQUERY_EMULATOR_HOST if set, else the spec's port. */
export function localBigQueryUrl(spec: Pick<MeshSpec, 'local'>): string {
  return process.env.BIGQUERY_EMULATOR_HOST ?? `http://127.0.0.1:${spec.local.bigqueryPort}`;
}
