/**
 * Starts the fraud scorer from the environment (shared/consumer/env.ts, plus FIRESTORE_EMULATOR_HOST)
 * and stops it gracefully on SIGTERM. Locally: `npm start -- --spec examples/fraud-scorer/mesh.yaml`.
 */
import { firestoreFromEnv, runServiceFromEnv } from '../../shared/consumer';
import { createFraudScorerApp } from './app';
import { SERVICE_NAME } from './handlers';

runServiceFromEnv(SERVICE_NAME, ({ common, projectId }) => createFraudScorerApp({ ...common, firestore: firestoreFromEnv(projectId) }));
