/**
 * Builds the fraud scorer without listening (tests: `service.start(0)`); index.ts starts it from the
 * environment. The worked example of docs/adding-a-consumer.md: a fourth service on the same runtime.
 */
import type { Firestore } from '@google-cloud/firestore';
import { createMeshService, serviceOptionsFrom, type MeshService, type ServiceAppOptions } from '../../shared/consumer';
import { firestoreProbe } from '../../shared/firestore';
import { fraudHandlers, SERVICE_NAME } from './handlers';
import { RiskStore } from './store';

export interface FraudScorerAppOptions extends ServiceAppOptions {
  firestore: Firestore;
}

export interface FraudScorerApp extends MeshService {
  store: RiskStore;
}

export function createFraudScorerApp(options: FraudScorerAppOptions): FraudScorerApp {
  const store = new RiskStore(options.firestore);
  const service = createMeshService({
    ...serviceOptionsFrom(options, SERVICE_NAME, fraudHandlers(options.spec, store)),
    dependencies: { firestore: firestoreProbe(options.firestore) },
    routes: (app) => {
      // A user's risk, for people and tests.
      app.get('/risk/:userId', async (req, res) => {
        const risk = await store.risk(req.params.userId);
        if (!risk) return void res.status(404).json({ error: `no payments scored for user ${req.params.userId}` });
        res.json(risk);
      });
    },
  });
  return Object.assign(service, { store });
}
