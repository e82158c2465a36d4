/**
 * Runs the whole mesh on one machine, the path `npm start` and the end-to-end test share:
 *
 *   preflight (emulators installed, Java, every port free)      -> nothing started on failure
 *   Pub/Sub + Firestore emulators, local BigQuery (DuckDB file)  -> spec.local ports, spec.local.dataDir
 *   mesh apply --local                                           -> topics, schemas, subscriptions, taps
 *   every spec service as a process                              -> spec.services[*].localPort, ready
 *   a push relay per push subscription (unless push: 'emulator') -> GCP-style push (push-relay.ts)
 *
 * A service or emulator that exits on its own is started again on its port with backoff
 * (supervisor.ts, emulators.ts), said in the progress lines and recorded in <dataDir>/services.json
 * and emulators.json for `mesh status`. A restarted Pub/Sub emulator gets the spec applied again
 * before it counts as running (it holds nothing: messages in it are gone); a restarted Firestore
 * emulator imports its last export (writes since then are gone).
 *
 * Anything started is stopped again if a later step fails. stop() goes in reverse: relays first,
 * then services (they drain and ack), then the warehouse endpoint, then Firestore (its data
 * exported into the data folder, imported at the next start), then Pub/Sub. The Pub/Sub emulator
 * keeps nothing between runs: the spec is applied again at each start, and a backlog left at stop
 * is gone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startLocalBigQuery, localBigQueryOptions } from '../bigquery-local';
import { assertJava, assertPortFree, findEmulator } from '../emulators';
import type { MeshSpec } from '../spec/types';
import { applyLocal, type ApplyStep, type LocalPush } from './apply';
import { startLocalPushRelays, type PushRelay } from './push-relay';
import { localPubSub } from './connect';
import { localServiceUrls, serviceEntry, startLocalService, type LocalEndpoints } from './services';
import { superviseFirestore, supervisePubsub, type SupervisedEmulator, type SupervisedFirestore } from './emulators';
import { superviseService, writeEmulatorStates, writeServiceStates, type SupervisedService, type SupervisorEvent, type SupervisorOptions } from './supervisor';
import { UserError } from '../errors';

export interface LocalMeshOptions {
  /** Start from empty data instead of what the last run left in spec.local.dataDir. */
  fresh?: boolean;
  /** Start the spec's services too (default true); false gives only emulators + applied spec. */
  services?: boolean;
  /**
   * Who pushes to push consumers. 'relay' (default): the local push relay, GCP's push form with
   * deliveryAttempt and orderingKey, up to the service's concurrency in flight. 'emulator': the
   * emulator's own push (two requests in flight per subscription; no deliveryAttempt/orderingKey).
   */
  push?: LocalPush;
  /** Progress lines for the terminal. */
  onProgress?: (line: string) => void;
  /** How services and emulators that exit on their own are restarted (supervisor.ts); defaults there. */
  supervisor?: Omit<SupervisorOptions, 'onEvent'>;
}

export interface LocalMesh extends LocalEndpoints {
  applied: ApplyStep[];
  /** service name -> base URL, for the services started. */
  serviceUrls: Record<string, string>;
  /** Each restarted with backoff when it exits on its own (supervisor.ts). */
  services: SupervisedService[];
  /** The emulators, each started again on its port when it exits on its own. */
  emulators: { pubsub: SupervisedEmulator; firestore: SupervisedFirestore };
  /** The push relays running (none with push: 'emulator'). */
  relays: PushRelay[];
  dataDir: string;
  stop(): Promise<void>;
}

export async function startLocalMesh(spec: MeshSpec, options: LocalMeshOptions = {}): Promise<LocalMesh> {
  const progress = options.onProgress ?? (() => undefined);
  const withServices = options.services ?? true;
  const push = options.push ?? 'relay';
  // Check everything that can be checked before starting anything.
  findEmulator('pubsub');
  findEmulator('firestore');
  assertJava();
  const serviceNames = withServices ? Object.keys(spec.services) : [];
  for (const name of serviceNames) serviceEntry(name);
  await assertPortFree(spec.local.pubsubPort, 'local.pubsubPort, the Pub/Sub emulator');
  await assertPortFree(spec.local.firestorePort, 'local.firestorePort, the Firestore emulator');
  await assertPortFree(spec.local.bigqueryPort, 'local.bigqueryPort, the local BigQuery endpoint');
  for (const name of serviceNames) await assertPortFree(spec.services[name].localPort, `services.${name}.localPort`);

  const dataDir = spec.local.dataDir;
  if (options.fresh) fs.rmSync(dataDir, { recursive: true, force: true });
  const logDir = path.join(dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });

  const stoppers: Array<{ what: string; stop: () => Promise<void> }> = [];
  const stop = async () => {
    // Reverse start order; keep going if one step fails so nothing is left running.
    const failures: string[] = [];
    for (const { what, stop: stopOne } of stoppers.splice(0).reverse()) {
      progress(`stopping ${what}`);
      await stopOne().catch((error: Error) => failures.push(`${what}: ${error.message}`));
    }
    if (failures.length) throw new UserError(`stopped, with errors:\n${failures.join('\n')}`);
  };
  try {
    progress(
      `starting the Pub/Sub emulator (:${spec.local.pubsubPort}), the Firestore emulator (:${spec.local.firestorePort}) and local BigQuery (:${spec.local.bigqueryPort})`,
    );
    const bigqueryOptions = localBigQueryOptions(spec);
    const emulators: Partial<LocalMesh['emulators']> = {};
    const recordEmulators = () => {
      try {
        writeEmulatorStates(dataDir, Object.values(emulators));
      } catch (error) {
        progress(`could not record the emulators' state for mesh status: ${(error as Error).message}`);
      }
    };
    const supervision = {
      spec,
      logDir,
      supervisor: options.supervisor,
      onEvent: (line: string) => {
        progress(line);
        recordEmulators();
      },
    };
    let applied: ApplyStep[] = [];
    // On each Pub/Sub emulator instance, before it counts as running: it starts empty.
    const applySpec = async (hostPort: string, restart: boolean) => {
      if (!restart) progress('applying the spec (topics, schemas, subscriptions, dead-letter topics)');
      process.env.PUBSUB_EMULATOR_HOST = hostPort;
      const pubsub = localPubSub(spec);
      try {
        const steps = await applyLocal({ pubsub, spec, serviceUrls: localServiceUrls(spec), push });
        if (!restart) applied = steps;
      } finally {
        await pubsub.close();
      }
    };
    // allSettled, not all: when one fails the others may still be starting, and must be stopped too.
    const [pubsubStart, firestoreStart, bigqueryStart] = await Promise.allSettled([
      supervisePubsub({ ...supervision, prepare: applySpec }).then((e) => {
        stoppers.push({ what: 'the Pub/Sub emulator', stop: () => e.stop().finally(recordEmulators) });
        return (emulators.pubsub = e);
      }),
      superviseFirestore({
        ...supervision,
        onExportError: (error) => progress(`periodic Firestore export failed (the next one tries again): ${error.message}`),
      }).then((e) => {
        stoppers.push({ what: 'the Firestore emulator (exporting its data)', stop: () => e.stop().finally(recordEmulators) });
        return (emulators.firestore = e);
      }),
      startLocalBigQuery(bigqueryOptions).then((b) => {
        stoppers.push({ what: 'local BigQuery', stop: () => b.stop() });
        return b;
      }),
    ]);
    const pubsubEmulator = settledValue(pubsubStart);
    const firestoreEmulator = settledValue(firestoreStart);
    const bigquery = settledValue(bigqueryStart);
    recordEmulators();
    const endpoints: LocalEndpoints = { pubsubHost: pubsubEmulator.hostPort, firestoreHost: firestoreEmulator.hostPort, bigqueryUrl: bigquery.url };

    const services: SupervisedService[] = [];
    if (serviceNames.length) progress(`starting services: ${serviceNames.join(', ')}`);
    const recordStates = () => {
      try {
        writeServiceStates(dataDir, services);
      } catch (error) {
        progress(`could not record the services' state for mesh status: ${(error as Error).message}`);
      }
    };
    await Promise.all(
      serviceNames.map(async (name) => {
        const service = await superviseService(() => startLocalService(spec, name, endpoints, logDir), {
          ...options.supervisor,
          onEvent: (event) => {
            progress(describeSupervisorEvent(event));
            recordStates();
          },
        });
        services.push(service);
        stoppers.push({
          what: `the ${name} service`,
          stop: async () => {
            await service.stop();
            recordStates();
          },
        });
        progress(`${name} ready at ${service.url}`);
      }),
    );
    recordStates();
    const serviceUrls = Object.fromEntries(services.map((s) => [s.name, s.url]));

    let relays: PushRelay[] = [];
    if (push === 'relay') {
      const relaying = await startLocalPushRelays(spec, path.join(logDir, 'push-relay.log'), { firestoreHost: endpoints.firestoreHost });
      stoppers.push({ what: 'the push relays', stop: relaying.stop });
      relays = relaying.relays;
      if (relays.length) progress(`push relays started: ${[...new Set(relays.map((r) => r.consumer.name))].join(', ')}`);
    }
    return { ...endpoints, applied, serviceUrls, services, emulators: { pubsub: pubsubEmulator, firestore: firestoreEmulator }, relays, dataDir, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

export function describeSupervisorEvent(event: SupervisorEvent): string {
  const wait = (ms: number) => `${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}`;
  switch (event.kind) {
    case 'exited':
      return `${event.service} exited (${event.exit.signal ?? `code ${event.exit.code}`}); restarting in ${wait(event.retryInMs)}`;
    case 'restarted':
      return `${event.service} restarted (pid ${event.pid}; restart ${event.restarts})`;
    case 'restart-failed':
      return `${event.service} did not start again (${event.error}); next try in ${wait(event.retryInMs)}`;
  }
}

function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
