/**
 * Builds the dashboard service without listening: tests call `service.start(0)`; index.ts starts it
 * from the environment. stop() stops intake, lets in-flight events reach their (now immediate)
 * flush, then closes the aggregator, the health monitor and the live feed.
 */
import type { Firestore } from '@google-cloud/firestore';
import {
  ConsumerConfigError,
  createLogger,
  createMeshService,
  serviceOptionsFrom,
  usingEmulators,
  type MeshService,
  type ServiceAppOptions,
} from '../../shared/consumer';
import { firestoreProbe, readAnomalies, readParityRecords, readRecentReplays } from '../../shared/firestore';
import type { HealthSource } from '../../shared/health';
import { readPaused } from '../../shared/operations/controls';
import { Aggregator, type AggregatorOptions } from './aggregator';
import { anomalyRoutes, keptAnomaliesRead } from './anomalies';
import { catalogRoutes } from './catalog';
import { panelRoutes } from './panels';
import { dashboardHandlers, SERVICE_NAME } from './handlers';
import { HotKeyTracker } from '../../shared/health/hot-keys';
import { KeptState } from '../../shared/health/kept';
import { createHealthSource, HealthMonitor, withPausedControls } from './health';
import { LiveFeed } from './live';
import { DashboardReader } from './reader';
import { dashboardRoutes, type RouteDeps } from './routes';
import { SnapshotBuilder } from './snapshot';

export interface DashboardAppOptions extends ServiceAppOptions {
  firestore: Firestore;
  aggregator?: AggregatorOptions;
  /**
   * Consumer health: 'local' (emulators: taps + acks), 'cloud-monitoring' (GCP), a HealthSource, or
   * false for none. Default 'local'.
   */
  health?: 'local' | 'cloud-monitoring' | HealthSource | false;
  /** GCP project for Cloud Monitoring; default spec.project. */
  projectId?: string;
  /** service name -> base URL for the local health's /stats/acks; default spec ports + MESH_SERVICE_URLS. */
  serviceUrls?: Record<string, string>;
  /** Health poll period; default 2000 ms. */
  healthIntervalMs?: number;
  /** Live page update period; default 1000 ms. */
  liveIntervalMs?: number;
  /** Refresh period of the kept anomalies (GET /api/anomalies' default view); default 5000 ms. */
  anomaliesIntervalMs?: number;
  /** Refresh period of the kept hot keys (GET /api/hot-keys); default 1000 ms. */
  hotKeysIntervalMs?: number;
}

export interface DashboardApp extends MeshService {
  aggregator: Aggregator;
  reader: DashboardReader;
  snapshots: SnapshotBuilder;
  health?: HealthMonitor;
}

/**
 * The dashboard's own settings from the environment:
 *  - MESH_HEALTH=local|cloud-monitoring|off: default local on the emulators, cloud-monitoring otherwise;
 *  - MESH_DASHBOARD_WRITE_LIMITS=firestore|off: `firestore` batches so that no aggregate document is
 *    written more than once a second (Firestore's limit); `off` commits at once. Default off on the
 *    Firestore emulator, which has no such limit while its Pub/Sub sibling pushes only two requests
 *    at a time per subscription: there, batching for a limit that does not exist only adds latency
 *    (about 1.5x the events/s per push subscription, `npm run bench -- dashboard`).
 */
export function dashboardOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<DashboardAppOptions, 'health' | 'aggregator'> {
  const health = env.MESH_HEALTH?.trim().toLowerCase() || (usingEmulators(env) ? 'local' : 'cloud-monitoring');
  if (!['local', 'cloud-monitoring', 'off', 'false'].includes(health))
    throw new ConsumerConfigError(`MESH_HEALTH "${health}" must be local, cloud-monitoring or off`);
  const limits = env.MESH_DASHBOARD_WRITE_LIMITS?.trim().toLowerCase() || (env.FIRESTORE_EMULATOR_HOST ? 'off' : 'firestore');
  if (limits !== 'firestore' && limits !== 'off') throw new ConsumerConfigError(`MESH_DASHBOARD_WRITE_LIMITS "${limits}" must be firestore or off`);
  return {
    health: health === 'off' || health === 'false' ? false : (health as 'local' | 'cloud-monitoring'),
    aggregator: limits === 'off' ? WITHOUT_WRITE_LIMITS : {},
  };
}

/** Aggregator settings for a Firestore without per-document write limits (the emulator). */
export const WITHOUT_WRITE_LIMITS: AggregatorOptions = { docWriteSpacingMs: 0, flushIntervalMs: 0 };

export function createDashboardApp(options: DashboardAppOptions): DashboardApp {
  const log = options.log ?? createLogger({ service: SERVICE_NAME });
  const aggregator = new Aggregator(options.firestore, { log, ...options.aggregator });
  const reader = new DashboardReader(options.firestore);
  const hotKeys = new HotKeyTracker();
  const handlers = dashboardHandlers(options.spec, aggregator, SERVICE_NAME, hotKeys);
  // What `mesh status` and the page read, kept up to date in the background (started with the service):
  // a request answers from it with its age, and does no I/O (shared/health/kept.ts).
  const keptHotKeys = new KeptState({ name: 'hot keys', read: () => hotKeys.top(), intervalMs: options.hotKeysIntervalMs ?? 1000, log });
  const readAnomaliesOf = (o: Parameters<typeof readAnomalies>[2]) => readAnomalies(options.firestore, Object.keys(options.spec.topics), o);
  const keptAnomalies = new KeptState({ name: 'anomalies', read: keptAnomaliesRead(readAnomaliesOf), intervalMs: options.anomaliesIntervalMs ?? 5000, log });
  const routeDeps = { reader, log, hotKeys: keptHotKeys } as RouteDeps;
  const service = createMeshService({
    ...serviceOptionsFrom(options, SERVICE_NAME, handlers),
    log,
    dependencies: { firestore: firestoreProbe(options.firestore) },
    routes: (app) => {
      // The processor's order anomalies, read from Firestore with the shared reader (anomalies.ts).
      // Every topic of the spec: whichever consumer detects anomalies, the dashboard shows them (8 count() queries for 2 topics).
      anomalyRoutes(app, { read: readAnomaliesOf, kept: keptAnomalies, log });
      // The latest parity result per topic and the recent replays (panels.ts).
      panelRoutes(app, { parity: () => readParityRecords(options.firestore), replays: () => readRecentReplays(options.firestore), log });
      // The event catalog: the spec as an AsyncAPI document, and its page (catalog.ts).
      catalogRoutes(app, { spec: options.spec, log });
      dashboardRoutes(app, routeDeps);
    },
  });

  const healthOption = options.health ?? 'local';
  let health: HealthMonitor | undefined;
  let healthSourceName = 'none';
  if (healthOption !== false) {
    const makeSource = (): HealthSource =>
      typeof healthOption === 'object'
        ? healthOption
        : createHealthSource({
            spec: options.spec,
            pubsub: options.pubsub,
            projectId: options.projectId ?? options.spec.project,
            kind: healthOption,
            ownStats: service.stats,
            serviceUrls: options.serviceUrls,
          });
    healthSourceName = typeof healthOption === 'object' ? 'custom' : healthOption;
    let source: HealthSource | undefined;
    health = new HealthMonitor({
      // Created lazily at start(): the local source opens tap subscriptions. Paused consumers come
      // from the consumer controls in the dashboard's Firestore.
      source: withPausedControls({ read: () => (source ??= makeSource()).read(), close: async () => source?.close() }, () => readPaused(options.firestore), {
        log,
      }),
      intervalMs: options.healthIntervalMs,
      log,
    });
  }
  const snapshots = new SnapshotBuilder({
    spec: options.spec,
    reader,
    health,
    healthSource: healthSourceName,
    aggregatorStats: () => aggregator.stats,
    hotKeys: () => keptHotKeys.current?.value ?? hotKeys.top(),
  });
  const live = new LiveFeed({ snapshot: () => snapshots.get(), intervalMs: options.liveIntervalMs, log });
  Object.assign(routeDeps, { snapshots, live });

  const baseStart = service.start.bind(service);
  const baseStop = service.stop.bind(service);
  let stopping: Promise<void> | undefined;
  return Object.assign(service, {
    aggregator,
    reader,
    snapshots,
    health,
    async start(port?: number, host?: string) {
      const bound = await baseStart(port, host);
      health?.start();
      keptHotKeys.start();
      keptAnomalies.start();
      return bound;
    },
    stop() {
      stopping ??= (async () => {
        live.close();
        keptHotKeys.stop();
        keptAnomalies.stop();
        const stopped = baseStop();
        // In-flight handlers wait for a flush: make it happen now, not at the next tick.
        aggregator.drain();
        await stopped;
        await aggregator.close();
        await health?.close();
      })();
      return stopping;
    },
  });
}
