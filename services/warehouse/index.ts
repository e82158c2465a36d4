/**
 * Starts the warehouse from the environment (see shared/consumer/env.ts for the common variables)
 * and stops it gracefully on SIGTERM, writing the rows already buffered before it exits.
 *
 *   BIGQUERY_EMULATOR_HOST     the local BigQuery endpoint (http://host:port, shared/bigquery-local);
 *                              also turns on draining the BigQuery-kind consumers (archive.ts).
 *                              Unset: BigQuery with application default credentials.
 *   WAREHOUSE_BATCH_ROWS       rows per batch (default 500)
 *   WAREHOUSE_BATCH_BYTES      bytes per batch (default 5 MiB)
 *   WAREHOUSE_BATCH_DELAY_MS   longest a row waits for its batch to fill (default 200)
 *   MESH_WAREHOUSE_TABLES      create | verify: who creates the tables (verify.ts). Default: create
 *                              with BIGQUERY_EMULATOR_HOST, else verify (in GCP `pulumi up` owns them;
 *                              the service waits, /readyz 503, until they exist with the spec's columns)
 *
 *   PUBSUB_EMULATOR_HOST=127.0.0.1:8085 BIGQUERY_EMULATOR_HOST=http://127.0.0.1:9050 \
 *     node --require tsx/cjs services/warehouse/index.ts
 */
import { runServiceFromEnv } from '../../shared/consumer';
import { createWarehouseApp } from './app';
import { batchFromEnv, bigqueryFromEnv, tablesModeFromEnv } from './env';
import { SERVICE_NAME } from './handlers';

runServiceFromEnv(SERVICE_NAME, ({ common, projectId }) =>
  createWarehouseApp({
    ...common,
    bigquery: bigqueryFromEnv(projectId, common.spec.warehouse.location),
    bigqueryProject: projectId,
    archiveBigQuerySubscriptions: Boolean(process.env.BIGQUERY_EMULATOR_HOST?.trim()),
    batch: batchFromEnv(),
    tables: tablesModeFromEnv(),
  }),
);
