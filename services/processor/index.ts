/**
 * Starts the processor from the environment (see shared/consumer/env.ts for the variables, plus
 * FIRESTORE_EMULATOR_HOST) and stops it gracefully on SIGTERM.
 *
 *   MESH_VERIFY_PUSH_AUTH=false PUBSUB_EMULATOR_HOST=127.0.0.1:8085 FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 \
 *     node --require tsx/cjs services/processor/index.ts
 */
import { firestoreFromEnv, runServiceFromEnv } from '../../shared/consumer';
import { createProcessorApp } from './app';
import { SERVICE_NAME } from './handlers';

runServiceFromEnv(SERVICE_NAME, ({ common, projectId }) => createProcessorApp({ ...common, firestore: firestoreFromEnv(projectId) }));
