/**
 * Starts the dashboard from the environment (shared/consumer/env.ts, plus FIRESTORE_EMULATOR_HOST,
 * MESH_SERVICE_URLS for the local health measure, and MESH_HEALTH=local|cloud-monitoring|off; the
 * default is local on the emulators, cloud-monitoring otherwise) and stops it gracefully on SIGTERM.
 *
 *   MESH_VERIFY_PUSH_AUTH=false PUBSUB_EMULATOR_HOST=127.0.0.1:8085 FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 \
 *     node --import tsx services/dashboard/index.ts
 */
import { ConsumerConfigError, firestoreFromEnv, runServiceFromEnv, usingEmulators } from '../../shared/consumer';
import { createDashboardApp } from './app';
import { SERVICE_NAME } from './handlers';

function healthFromEnv(): 'local' | 'cloud-monitoring' | false {
  const value = process.env.MESH_HEALTH?.trim().toLowerCase();
  if (!value) return usingEmulators() ? 'local' : 'cloud-monitoring';
  if (value === 'off' || value === 'false') return false;
  if (value === 'local' || value === 'cloud-monitoring') return value;
  throw new ConsumerConfigError(`MESH_HEALTH "${value}" must be local, cloud-monitoring or off`);
}

runServiceFromEnv(SERVICE_NAME, ({ common, projectId }) =>
  createDashboardApp({ ...common, firestore: firestoreFromEnv(projectId), health: healthFromEnv(), projectId }),
);
