/**
 * Builds the processor service without listening: tests drive `service.listener` with supertest or
 * `service.start(0)`; index.ts starts it from the environment.
 */
import type { Firestore } from '@google-cloud/firestore';
import { createMeshService, serviceOptionsFrom, type MeshService, type ServiceAppOptions } from '../../shared/consumer';
import { firestoreProbe } from '../../shared/firestore';
import { AnomalyTally } from './anomalies';
import { processorHandlers, SERVICE_NAME } from './handlers';
import { ProcessorStore, type ProcessorStoreOptions } from './store';

export interface ProcessorAppOptions extends ServiceAppOptions {
  firestore: Firestore;
  store?: ProcessorStoreOptions;
}

export interface ProcessorApp extends MeshService {
  store: ProcessorStore;
  /** This instance's order anomalies per topic and kind, also at /stats (`sections.anomalies`). */
  anomalies: AnomalyTally;
}

export function createProcessorApp(options: ProcessorAppOptions): ProcessorApp {
  const store = new ProcessorStore(options.firestore, options.store);
  const anomalies = new AnomalyTally();
  const handlers = processorHandlers(options.spec, store, SERVICE_NAME, anomalies);
  const service = createMeshService({
    ...serviceOptionsFrom(options, SERVICE_NAME, handlers),
    dependencies: { firestore: firestoreProbe(options.firestore) },
    // Since this instance started; the durable, exact counts are in Firestore (shared/firestore/anomalies.ts).
    statsSections: {
      anomalies: () => anomalies.snapshot(),
      analyticsCommits: () => ({ ...store.analyticsCommits.stats }),
      orderCommits: () => ({ ...store.orderCommits.stats }),
    },
    routes: (app) => {
      // Read-only views of the effects, for people and tests.
      app.get('/orders/:orderId', async (req, res) => {
        const order = await store.readOrder(req.params.orderId).catch(() => undefined);
        if (!order) return void res.status(404).json({ error: `no order ${req.params.orderId}` });
        res.json({ order, anomalies: await store.readAnomalies(req.params.orderId) });
      });
      app.get('/posts/:postId/likes', async (req, res) => {
        res.json({ postId: req.params.postId, likes: await store.readLikeCount(req.params.postId).catch(() => 0) });
      });
      app.get('/users/:userId', async (req, res) => {
        const activity = await store.readUserActivity(req.params.userId).catch(() => undefined);
        if (!activity) return void res.status(404).json({ error: `no activity for ${req.params.userId}` });
        res.json({ userId: req.params.userId, ...activity });
      });
    },
  });
  return Object.assign(service, { store, anomalies });
}
