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
 *
 *   PUBSUB_EMULATOR_HOST=127.0.0.1:8085 BIGQUERY_EMULATOR_HOST=http://127.0.0.1:9050 \
 *     npx tsx services/warehouse/index.ts
 */
import { createLogger, portFromEnv, projectFromEnv, pubsubFromEnv, pushAuthFromEnv, runService, usingEmulators } from '../../shared/consumer';
import { loadSpec } from '../../shared/spec';
import { createWarehouseApp } from './app';
import { batchFromEnv, bigqueryFromEnv } from './env';
import { SERVICE_NAME } from './handlers';

const log = createLogger({ service: SERVICE_NAME });

async function main(): Promise<void> {
  const local = Boolean(process.env.BIGQUERY_EMULATOR_HOST?.trim());
  if (usingEmulators() || local) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const spec = loadSpec();
  const projectId = projectFromEnv(spec);
  const service = createWarehouseApp({
    spec,
    pubsub: pubsubFromEnv(projectId),
    bigquery: bigqueryFromEnv(projectId, spec.warehouse.location),
    bigqueryProject: projectId,
    archiveBigQuerySubscriptions: local,
    verifyPushAuth: pushAuthFromEnv(),
    log,
    traceProject: usingEmulators() ? undefined : projectId,
    batch: batchFromEnv(),
  });
  await runService(service, { port: portFromEnv(spec, SERVICE_NAME), log });
}

main().catch((error: Error) => {
  log.fatal({ err: error }, `warehouse failed to start: ${error.message}`);
  process.exit(1);
});
