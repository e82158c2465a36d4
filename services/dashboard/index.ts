/**
 * Starts the dashboard from the environment (shared/consumer/env.ts, plus FIRESTORE_EMULATOR_HOST,
 * MESH_SERVICE_URLS for the local health measure, MESH_HEALTH and MESH_DASHBOARD_WRITE_LIMITS: see
 * dashboardOptionsFromEnv) and stops it gracefully on SIGTERM.
 *
 *   MESH_VERIFY_PUSH_AUTH=false PUBSUB_EMULATOR_HOST=127.0.0.1:8085 FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 \
 *     node --require tsx/cjs services/dashboard/index.ts
 */
import { firestoreFromEnv, runServiceFromEnv } from '../../shared/consumer';
import { createDashboardApp, dashboardOptionsFromEnv } from './app';
import { SERVICE_NAME } from './handlers';

runServiceFromEnv(SERVICE_NAME, ({ common, projectId }) =>
  createDashboardApp({ ...common, firestore: firestoreFromEnv(projectId), projectId, ...dashboardOptionsFromEnv() }),
);
