/**
 * Starts the dashboard from the environment (shared/consumer/env.ts, plus FIRESTORE_EMULATOR_HOST,
 * MESH_SERVICE_URLS for the local health measure, and MESH_HEALTH=local|cloud-monitoring|off; the
 * default is local on the emulators, cloud-monitoring otherwise) and stops it gracefully on SIGTERM.
 *
 *   MESH_VERIFY_PUSH_AUTH=false PUBSUB_EMULATOR_HOST=127.0.0.1:8085 FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 \
 *     npx tsx services/dashboard/index.ts
 */
import { ConsumerConfigError, createLogger, firestoreFromEnv, portFromEnv, projectFromEnv, pubsubFromEnv, pushAuthFromEnv, runService, usingEmulators } from '../../shared/consumer';
import { loadSpec } from '../../shared/spec';
import { createDashboardApp } from './app';
import { SERVICE_NAME } from './handlers';

const log = createLogger({ service: SERVICE_NAME });

function healthFromEnv(): 'local' | 'cloud-monitoring' | false {
  const value = process.env.MESH_HEALTH?.trim().toLowerCase();
  if (!value) return usingEmulators() ? 'local' : 'cloud-monitoring';
  if (value === 'off' || value === 'false') return false;
  if (value === 'local' || value === 'cloud-monitoring') return value;
  throw new ConsumerConfigError(`MESH_HEALTH "${value}" must be local, cloud-monitoring or off`);
}

async function main(): Promise<void> {
  if (usingEmulators()) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const spec = loadSpec();
  const projectId = projectFromEnv(spec);
  const service = createDashboardApp({
    spec,
    pubsub: pubsubFromEnv(projectId),
    firestore: firestoreFromEnv(projectId),
    verifyPushAuth: pushAuthFromEnv(),
    log,
    traceProject: usingEmulators() ? undefined : projectId,
    health: healthFromEnv(),
    projectId,
  });
  await runService(service, { port: portFromEnv(spec, SERVICE_NAME), log });
}

main().catch((error: Error) => {
  log.fatal({ err: error }, `dashboard failed to start: ${error.message}`);
  process.exit(1);
});
