/**
 * A BigQuery-compatible endpoint backed by DuckDB, so the warehouse loader and analysts' queries take
 * the same code path (`@google-cloud/bigquery`) locally as in GCP. See server.ts for the REST subset
 * and sql/ for the BigQuery SQL it translates.
 */

export { startLocalBigQuery, type LocalBigQuery, type LocalBigQueryOptions } from './server';
export { translateQuery, tokenize, UnsupportedLocallyError, TRANSLATED_FUNCTIONS } from './sql';
export { LocalBigQueryStore } from './store';
export { localBigQueryOptions, localBigQueryUrl } from './address';
