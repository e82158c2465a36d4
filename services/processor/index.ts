/**
 * Starts the processor from the environment (see shared/consumer/env.ts for the variables, plus
 * FIRESTORE_EMULATOR_HOST) and stops it gracefully on SIGTERM.
 *
 *   MESH_VERIFY_PUSH_AUTH=false PUBSUB_EMULATOR_HOST=127.0.0.1:8085 FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 \
 *     npx tsx services/processor/index.ts
 */
import { createLogger, firestoreFromEnv, portFromEnv, projectFromEnv, pubsubFromEnv, pushAuthFromEnv, runService, usingEmulators } from '../../shared/consumer';
import { loadSpec } from '../../shared/spec';
import { createProcessorApp } from './app';
import { SERVICE_NAME } from './handlers';

const log = createLogger({ service: SERVICE_NAME });

async function main(): Promise<void> {
  if (usingEmulators()) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const spec = loadSpec();
  const projectId = projectFromEnv(spec);
  const service = createProcessorApp({
    spec,
    pubsub: pubsubFromEnv(projectId),
    firestore: firestoreFromEnv(projectId),
    verifyPushAuth: pushAuthFromEnv(),
    log,
    traceProject: usingEmulators() ? undefined : projectId,
  });
  await runService(service, { port: portFromEnv(spec, SERVICE_NAME), log });
}

main().catch((error: Error) => {
  log.fatal({ err: error }, `processor failed to start: ${error.message}`);
  process.exit(1);
});
