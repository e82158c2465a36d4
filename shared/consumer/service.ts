/**
 * createMeshService: one service process = one HTTP server + the push routes and pull subscribers
 * of the consumers the spec gives it. Handlers are per consumer; how a message arrives (push or
 * pull) is the spec's business.
 *
 * The HTTP listener answers push paths itself (lean node:http code, see push.ts) and hands every
 * other request to an express app with /healthz, /readyz, /stats and the service's own routes.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { randomUUID } from 'node:crypto';
import type { PubSub } from '@google-cloud/pubsub';
import { consumerResources, pushPath } from '../spec/names';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { createPushVerifier, type PushAuthOptions } from './auth';
import { DeadLetterPublisher, type DeadLetterSink } from './dead-letter';
import { DependencyMonitor, type DependencyProbe } from './dependencies';
import { followControls, type ConsumerControlSource } from './controls-follow';
import { ConsumerConfigError } from './errors';
import { InFlight } from './inflight';
import { createLogger, type Logger } from './logger';
import { createPipeline, type Pipeline } from './pipeline';
import { canaryPullsOf, drainPulls, pullsOf, type PullTransport } from './pull';
import type { CanaryRuntime } from '../canary/runtime';
import type { OpenRetryOptions } from './subscription-access';
import { createPushListener, type PushRoute } from './push';
import { memorySnapshot, ServiceStats } from './stats';
import { errorResponder, withTimeout } from './service-support';
import type { Handlers } from './types';

/** This process, in the ack log's answers (a restarted service numbers its acks from 0 again). */
const PROCESS_INSTANCE = randomUUID();

export interface MeshServiceOptions {
  spec: MeshSpec;
  /** A key of spec.services; its push and pull consumers are served. */
  serviceName: string;
  /** One handler per consumer of the service (consumer name -> handler); missing or extra ones fail at creation. */
  handlers: Handlers;
  /** Used for pull subscriptions and dead-letter publishing. */
  pubsub: PubSub;
  /**
   * Push OIDC verification: the expected audience and push service account, or `false` to turn it
   * off (emulator only; logged as a warning). Required when the service has push consumers: there
   * is no default, so a deployment cannot forget it.
   */
  verifyPushAuth?: PushAuthOptions | false;
  /** Default: createLogger({service: serviceName}). */
  log?: Logger;
  /** GCP project for `logging.googleapis.com/trace`. Default: none (bare trace ids). */
  traceProject?: string;
  /** Push body limit; default 14 MiB (a 10 MB message, base64-encoded, plus attributes). */
  maxBodyBytes?: number;
  /** Budget for stop(): stop intake, finish handlers, flush. Default 8000 ms (Cloud Run kills 10 s after SIGTERM). */
  shutdownTimeoutMs?: number;
  /** Adds the service's own routes (pages, JSON) to the express app, after the health routes. */
  routes?: (app: Express) => void;
  /** Poison sink per consumer. Default: a DeadLetterPublisher on consumerResources(c).deadLetterTopic. */
  deadLetter?: (consumer: ConsumerSpec) => DeadLetterSink;
  /** StreamingPull streams per pull subscription; default the client's (5). */
  maxStreams?: number;
  /** How pull consumers pull: 'streaming' (default, GCP) or 'unary' (the emulator: it ignores StreamingPull flow control). */
  pullTransport?: PullTransport;
  /** How pull consumers wait out a refused subscription (PERMISSION_DENIED, NOT_FOUND, UNAVAILABLE). Default: 1 s doubling to 30 s. */
  pullOpenRetry?: OpenRetryOptions;
  /**
   * Consumers the service delivers itself, outside this runtime (the warehouse's local drain of
   * BigQuery-kind consumers): they get counters and an ack log in /stats and /stats/acks too.
   */
  extraStatsConsumers?: string[];
  /** Sections of the service's own in /stats (name -> read at each request), beside the consumers' counters. */
  statsSections?: Record<string, () => unknown>;
  /** What the service depends on besides Pub/Sub (name -> probe): /readyz is 503 while one is down (dependencies.ts). */
  dependencies?: Record<string, DependencyProbe>;
  /** Probe interval and timeout; defaults 2000 / 2000 ms. */
  dependencyProbe?: { intervalMs?: number; timeoutMs?: number };
  /** A handler not finished within this is retried (pipeline.ts); default DEFAULT_HANDLER_TIMEOUT_MS (10 s). */
  handlerTimeoutMs?: number;
  /**
   * Whether each pull consumer is paused (a ControlWatcher, shared/operations/controls.ts): a paused
   * one pulls nothing, from its own subscription nor its redrive one. Default none: never paused.
   */
  controls?: ConsumerControlSource;
  /**
   * The consumers' canaries (shared/canary/runtime.ts). A `canary` role serves its one consumer from
   * `<c>-canary` only; the `stable` role splits each consumer's own subscription while a canary runs.
   * Default none: no canary can run.
   */
  canary?: CanaryRuntime;
}

/** What every service's create<Name>App takes besides its own stores: passed through to createMeshService. */
export interface ServiceAppOptions {
  spec: MeshSpec;
  pubsub: PubSub;
  /** Required when the service has push consumers: audience + push service account, or false on the emulator. */
  verifyPushAuth?: PushAuthOptions | false;
  log?: Logger;
  traceProject?: string;
  /** Wraps the handlers (tests count or inject faults); default identity. */
  decorate?: (handlers: Handlers) => Handlers;
  /** Default 8000 ms (Cloud Run kills 10 s after SIGTERM). */
  shutdownTimeoutMs?: number;
  maxBodyBytes?: number;
  maxStreams?: number;
  pullTransport?: PullTransport;
  pullOpenRetry?: OpenRetryOptions;
  dependencyProbe?: { intervalMs?: number; timeoutMs?: number };
  handlerTimeoutMs?: number;
  controls?: ConsumerControlSource;
  canary?: CanaryRuntime;
}

/** The createMeshService options a service app passes through from its ServiceAppOptions, with its handlers decorated. */
export function serviceOptionsFrom(options: ServiceAppOptions, serviceName: string, handlers: Handlers): MeshServiceOptions {
  return {
    spec: options.spec,
    serviceName,
    handlers: options.decorate ? options.decorate(handlers) : handlers,
    pubsub: options.pubsub,
    verifyPushAuth: options.verifyPushAuth,
    log: options.log,
    traceProject: options.traceProject,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    maxStreams: options.maxStreams,
    pullTransport: options.pullTransport,
    pullOpenRetry: options.pullOpenRetry,
    dependencyProbe: options.dependencyProbe,
    handlerTimeoutMs: options.handlerTimeoutMs,
    controls: options.controls,
    canary: options.canary,
  };
}

export interface MeshService {
  readonly name: string;
  /** Health, readiness, stats and the service's routes. Push paths never reach it. */
  readonly app: Express;
  /** The request listener to serve: push paths first, everything else to `app`. */
  readonly listener: http.RequestListener;
  readonly stats: ServiceStats;
  /** consumer name -> its pipeline (decode, handle, dead-letter), for tests and benches. */
  readonly pipelines: Record<string, Pipeline>;
  /** True once started, every pull stream is open, and not shutting down. */
  readonly ready: boolean;
  /** The HTTP server once started. */
  readonly server: http.Server | undefined;
  /** Listens (port 0 = any free port) and opens the pull subscriptions; resolves with the port. */
  start(port?: number, host?: string): Promise<number>;
  /** Graceful: stops intake, waits for running handlers, flushes acks and dead letters. Idempotent. */
  stop(): Promise<void>;
}

export function createMeshService(options: MeshServiceOptions): MeshService {
  const { spec, serviceName, handlers, pubsub } = options;
  const serviceSpec = spec.services[serviceName];
  if (!serviceSpec) throw new ConsumerConfigError(`unknown service "${serviceName}" (services: ${Object.keys(spec.services).join(', ')})`);
  const log = options.log ?? createLogger({ service: serviceName });
  const canaryRole = options.canary?.role;
  const consumers = serviceSpec.consumers
    .map((name) => spec.consumers[name])
    .filter((c) => c.delivery === 'push' || c.delivery === 'pull')
    // A canary instance serves the one consumer it is the canary of.
    .filter((c) => canaryRole?.kind !== 'canary' || c.name === canaryRole.consumer);
  if (canaryRole?.kind === 'canary' && !consumers.length)
    throw new ConsumerConfigError(`service ${serviceName} has no push or pull consumer "${canaryRole.consumer}" to be the canary of`);
  const missing = consumers.filter((c) => !handlers[c.name]).map((c) => c.name);
  if (missing.length) throw new ConsumerConfigError(`service ${serviceName}: no handler for consumer${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const extra = Object.keys(handlers).filter((name) => !consumers.some((c) => c.name === name) && canaryRole?.kind !== 'canary');
  if (extra.length)
    throw new ConsumerConfigError(
      `service ${serviceName}: handlers for ${extra.join(', ')}, which are not push/pull consumers of this service in ${spec.file}`,
    );

  const pushConsumers = consumers.filter((c) => c.delivery === 'push');
  if (pushConsumers.length && options.verifyPushAuth === undefined) {
    throw new ConsumerConfigError(
      `service ${serviceName} has push consumers (${pushConsumers.map((c) => c.name).join(', ')}) but no push authentication decision: pass verifyPushAuth {audience, serviceAccountEmail} (env MESH_PUSH_AUDIENCE, MESH_PUSH_SERVICE_ACCOUNT) or verifyPushAuth: false for the emulator (MESH_VERIFY_PUSH_AUTH=false)`,
    );
  }
  if (pushConsumers.length && options.verifyPushAuth === false) {
    log.warn(
      { consumers: pushConsumers.map((c) => c.name) },
      'push authentication is OFF (verifyPushAuth: false): any caller can post deliveries; use this only against the emulator',
    );
  }
  const verifier = pushConsumers.length && options.verifyPushAuth ? createPushVerifier(options.verifyPushAuth) : undefined;

  const stats = new ServiceStats(serviceName, [...consumers.map((c) => c.name), ...(options.extraStatsConsumers ?? [])]);
  for (const [name, read] of Object.entries(options.statsSections ?? {})) stats.addSection(name, read);
  const inFlight = new InFlight();
  const sinks: DeadLetterSink[] = [];
  const pipelines: Record<string, Pipeline> = {};
  for (const consumer of consumers) {
    const deadLetter = options.deadLetter?.(consumer) ?? new DeadLetterPublisher({ pubsub, consumer });
    sinks.push(deadLetter);
    const pipeline = createPipeline({
      spec,
      consumer,
      delivery: consumer.delivery as 'push' | 'pull',
      handler: handlers[consumer.name],
      deadLetter,
      counters: stats.of(consumer.name),
      acked: stats.acksOf(consumer.name),
      latency: stats.latencyOf(consumer.name),
      log,
      inFlight,
      traceProject: options.traceProject,
      handlerTimeoutMs: options.handlerTimeoutMs,
    });
    pipelines[consumer.name] = options.canary ? options.canary.gate(consumer.name, pipeline, stats.acksOf(consumer.name)) : pipeline;
  }

  let started = false;
  let draining = false;
  let server: http.Server | undefined;
  let stopping: Promise<void> | undefined;

  const routes: PushRoute[] = pushConsumers.map((c) => ({
    consumer: c.name,
    path: pushPath(c.name),
    subscription: consumerResources(c).subscription,
    pipeline: pipelines[c.name],
  }));
  const push = createPushListener({ routes, log, verifier, maxBodyBytes: options.maxBodyBytes, isDraining: () => draining });
  const pulls = consumers
    .filter((c) => c.delivery === 'pull')
    .flatMap((consumer) =>
      (canaryRole?.kind === 'canary' ? canaryPullsOf : pullsOf)({
        pubsub,
        consumer,
        pipeline: pipelines[consumer.name],
        log,
        maxStreams: options.maxStreams,
        transport: options.pullTransport,
        openRetry: options.pullOpenRetry,
      }),
    );

  const paused = new Set<string>();
  const pullConsumers = [...new Set(pulls.map((p) => p.consumer.name))];
  const watchControls = () =>
    followControls(options.controls, pullConsumers, (name, isPaused) => {
      if (draining) return;
      if (isPaused) paused.add(name);
      else paused.delete(name);
      for (const p of pulls.filter((x) => x.consumer.name === name)) void (isPaused ? p.pause() : p.resume());
    });

  const dependencies = new DependencyMonitor({ probes: options.dependencies ?? {}, log, ...options.dependencyProbe });
  const isReady = () => started && !draining && pulls.every((p) => p.ready) && !dependencies.reasons.length;
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: serviceName });
  });
  app.get('/readyz', (_req, res) => {
    const ready = isReady();
    res.status(ready ? 200 : 503).json({
      ready,
      service: serviceName,
      draining,
      consumers: Object.fromEntries(
        consumers.map((c) => [c.name, c.delivery === 'pull' ? pulls.filter((p) => p.consumer.name === c.name).every((p) => p.ready) : started && !draining]),
      ),
      // Paused by their control (mesh pause): not pulling on purpose, and still ready.
      ...(paused.size ? { paused: [...paused].sort() } : {}),
      // Why not: e.g. a pull subscription Pub/Sub still refuses (missing grant, not created yet).
      ...(ready
        ? {}
        : {
            reasons: [
              ...(started ? [] : ['starting']),
              ...(draining ? ['shutting down'] : []),
              ...dependencies.reasons,
              ...pulls.map((p) => p.notReadyReason).filter(Boolean),
            ],
          }),
    });
  });
  if (options.canary) stats.addSection('canary', () => options.canary!.snapshot());
  app.get('/stats', (_req, res) => {
    res.json({ ...stats.snapshot(), memory: memorySnapshot() });
  });
  // Acked message ids after a cursor, for the local health monitor (shared/health/local.ts):
  // GET /stats/acks?consumer=<name>&after=<seq>[&limit=<n>] -> {consumer, instance, ids, next, missed}.
  // `instance` names this process: a reader seeing it change knows the count started again from 0.
  app.get('/stats/acks', (req, res) => {
    const consumer = typeof req.query.consumer === 'string' ? req.query.consumer : '';
    if (!stats.has(consumer))
      return void res
        .status(404)
        .json({ error: `service ${serviceName} has no consumer "${consumer}" (consumers: ${consumers.map((c) => c.name).join(', ')})` });
    const after = Number(req.query.after ?? 0);
    const limit = req.query.limit === undefined ? undefined : Number(req.query.limit);
    if (!Number.isFinite(after) || after < 0 || (limit !== undefined && !(limit > 0)))
      return void res.status(400).json({ error: 'after must be a sequence number >= 0 and limit a positive number' });
    res.json({ consumer, instance: PROCESS_INSTANCE, ...stats.acksOf(consumer).after(after, limit) });
  });
  options.routes?.(app);
  app.use(errorResponder(log));

  const listener: http.RequestListener = (req, res) => {
    if (!push(req, res)) app(req, res);
  };

  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 8000;

  return {
    name: serviceName,
    app,
    listener,
    stats,
    pipelines,
    get ready() {
      return isReady();
    },
    get server() {
      return server;
    },
    async start(port = serviceSpec.localPort, host?: string) {
      if (server) throw new Error(`service ${serviceName} is already started`);
      server = http.createServer(listener);
      // Longer than Cloud Run's / Google front ends' idle timeouts, so they close first.
      server.keepAliveTimeout = 620_000;
      server.headersTimeout = 621_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      const bound = (server.address() as AddressInfo).port;
      // A consumer paused before this instance started must not pull at all: read the controls first.
      await watchControls();
      await options.canary?.start(consumers.map((c) => c.name));
      await Promise.all([...pulls.map((p) => p.start()), dependencies.start()]);
      started = true;
      log.info({ port: bound, push: routes.map((r) => r.path), pull: [...new Set(pulls.map((p) => p.consumer.name))] }, `${serviceName} listening on ${bound}`);
      return bound;
    },
    stop() {
      stopping ??= (async () => {
        const deadline = Date.now() + shutdownTimeoutMs;
        draining = true;
        const probesSettled = dependencies.stop();
        options.controls?.close();
        log.info({ inFlight: inFlight.size }, 'shutting down: intake stopped');
        const closed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
        server?.closeIdleConnections();
        // Leave ~1.5 s for closing streams and flushing acks and dead letters. Pull consumers finish
        // what they pulled (key queues included) and settle it, so close() sends back as little as it can.
        const drained = await drainPulls(pulls, deadline - Date.now() - 1500, inFlight);
        if (!drained) log.warn({ inFlight: inFlight.size }, 'handlers still running at the shutdown deadline; their messages will be redelivered');
        await withTimeout(
          Promise.all(pulls.map((p) => p.close())),
          Math.max(500, deadline - Date.now() - 500),
          () => log.warn('pull subscriptions did not close in time'),
          log,
        );
        await withTimeout(
          Promise.all(sinks.map((s) => s.flush())),
          Math.max(200, deadline - Date.now() - 200),
          () => log.warn('dead-letter flush did not finish in time'),
          log,
        );
        // After the pulls settled: a canary instance's last report says it stopped, and the end of its canary moves what is left.
        await withTimeout(options.canary?.close() ?? Promise.resolve(), 1000, () => log.warn('the last canary report did not finish in time'), log);
        server?.closeAllConnections();
        await closed;
        // A probe round still running would use clients the caller closes once stop() resolves.
        await withTimeout(probesSettled, 1000, () => log.warn('a dependency probe did not settle in time'), log);
        log.info({ stats: stats.snapshot().consumers }, 'stopped');
      })();
      return stopping;
    },
  };
}
