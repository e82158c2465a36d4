/**
 * The local BigQuery endpoint for a jest file, through the real @google-cloud/bigquery client.
 * Importing this module also sets up the client for jest's sandbox (see below).
 */
import { BigQuery, type Dataset } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery, type LocalBigQueryOptions } from '../../shared/bigquery-local';

// No GCE metadata server to ask for credentials: the local endpoint needs none.
process.env.METADATA_SERVER_DETECTION = 'none';
// teeny-request (under @google-cloud/bigquery) loads node-fetch with a dynamic import(), which jest's
// CommonJS sandbox refuses; with this flag it uses its own node:http transport (written for Bun) instead.
(globalThis as { Bun?: unknown }).Bun ??= {};

export interface LocalBigQueryWithDataset {
  local: LocalBigQuery;
  bigquery: BigQuery;
  dataset: Dataset;
}

/** Starts an endpoint (in memory unless told otherwise) and creates `datasetId` in project test-project. */
export async function startLocalBigQueryWithDataset(datasetId: string, options: LocalBigQueryOptions = {}): Promise<LocalBigQueryWithDataset> {
  const local = await startLocalBigQuery(options);
  const bigquery = new BigQuery({ projectId: 'test-project', apiEndpoint: local.url });
  const [dataset] = await bigquery.createDataset(datasetId, { location: 'US' });
  return { local, bigquery, dataset };
}

/** The error `promise` rejects with; a promise that resolves fails the test. */
export async function errorOf<E = { code?: number; message: string; errors?: { reason?: string }[] }>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected a failure');
}
