/**
 * `npm start`'s emulators, supervised like its services (supervisor.ts): one that exits on its own
 * (a crash, `kill -9` of its process group) is started again on the same port with the same options.
 *
 * - Pub/Sub keeps nothing: a new instance holds no topics, subscriptions or messages. `prepare` (the
 *   spec applied again, as at start) runs before it counts as running; what the old instance held
 *   (backlogs, dead letters in the holds) is gone.
 * - Firestore imports the newest export in its data folder, as at start: writes since that export
 *   (at most local.firestoreExportEverySeconds) are gone.
 * Clients keep their host:port, so they reconnect to the new instance on their own.
 */
import * as path from 'node:path';
import { startFirestoreEmulator, startPubsubEmulator, type RunningEmulator } from '../emulators';
import type { ProcessExit } from '../emulators/process';
import type { MeshSpec } from '../spec/types';
import { followSupervised, supervise, type ServiceState, type Supervisable, type Supervised, type SupervisorEvent, type SupervisorOptions } from './supervisor';

/** An emulator `npm start` started again on its port whenever it exited on its own. */
export interface SupervisedEmulator {
  readonly name: string;
  /** Process group leader of the instance running now. */
  readonly pid: number;
  readonly state: ServiceState;
  /** Times it was started again after exiting on its own (counted once ready, the spec applied again for Pub/Sub). */
  readonly restarts: number;
  readonly lastExit?: ProcessExit & { at: string };
}

export interface SupervisedFirestore extends SupervisedEmulator {
  /** Exports spec.project into the data folder now, from the instance running now; returns the export folder. */
  exportData(): Promise<string>;
}

/** What startLocalMesh keeps: the public shape, and stop() for Ctrl-C. */
export type Stoppable<T> = T & { stop(): Promise<void> };

export interface EmulatorSupervision {
  spec: MeshSpec;
  logDir: string;
  supervisor?: Omit<SupervisorOptions, 'onEvent'>;
  /** Told of each supervisor event, with its line for the terminal (describeEmulatorEvent). */
  onEvent: (line: string, event: SupervisorEvent, name: 'pubsub' | 'firestore') => void;
}

interface Instance<E extends RunningEmulator> extends Supervisable {
  emulator: E;
}

function instance<E extends RunningEmulator>(name: string, emulator: E): Instance<E> {
  return { name, pid: emulator.process.pid, exited: emulator.process.exited, stop: () => emulator.stop(), emulator };
}

/**
 * The Pub/Sub emulator on spec.local.pubsubPort. `prepare(hostPort, restart)` runs on each instance
 * before it counts as started (the first start included): a failure stops that instance, and on a
 * restart is retried with backoff like a failed start.
 */
export async function supervisePubsub(
  options: EmulatorSupervision & { prepare: (hostPort: string, restart: boolean) => Promise<void> },
): Promise<Stoppable<SupervisedEmulator> & { hostPort: string }> {
  const { spec, logDir } = options;
  let started = 0;
  const supervised = await supervise(
    async () => {
      const emulator = await startPubsubEmulator({ port: spec.local.pubsubPort, logFile: path.join(logDir, 'pubsub.log') });
      try {
        await options.prepare(emulator.hostPort, started > 0);
      } catch (error) {
        await emulator.stop();
        throw error;
      }
      started++;
      return instance('pubsub', emulator);
    },
    { ...options.supervisor, onEvent: (event) => options.onEvent(describeEmulatorEvent('pubsub', event, spec), event, 'pubsub') },
  );
  return view(supervised, { hostPort: supervised.current.emulator.hostPort });
}

/** The Firestore emulator on spec.local.firestorePort, its data in <dataDir>/firestore (imported at each start, exported periodically and on stop). */
export async function superviseFirestore(
  options: EmulatorSupervision & { onExportError: (error: Error) => void },
): Promise<Stoppable<SupervisedFirestore> & { hostPort: string }> {
  const { spec, logDir } = options;
  const supervised = await supervise(
    async () =>
      instance(
        'firestore',
        await startFirestoreEmulator({
          port: spec.local.firestorePort,
          dataDir: path.join(spec.local.dataDir, 'firestore'),
          persistProjects: [spec.project],
          // A kill -9 loses at most this much (README "Local data"); stop() exports too.
          exportEveryMs: spec.local.firestoreExportEverySeconds * 1000,
          onExportError: options.onExportError,
          logFile: path.join(logDir, 'firestore.log'),
        }),
      ),
    { ...options.supervisor, onEvent: (event) => options.onEvent(describeEmulatorEvent('firestore', event, spec), event, 'firestore') },
  );
  return view(supervised, {
    hostPort: supervised.current.emulator.hostPort,
    exportData: async () => {
      if (supervised.state !== 'running') throw new Error(`the Firestore emulator is ${supervised.state}: nothing to export from`);
      return supervised.current.emulator.exportData([spec.project]);
    },
  });
}

/** The public view of a supervised emulator: live getters, and `extra`. */
function view<X extends object>(supervised: Supervised<Instance<RunningEmulator>>, extra: X): Stoppable<SupervisedEmulator> & X {
  return followSupervised({ ...extra, stop: () => supervised.stop() }, supervised, ['name', 'pid', 'state', 'restarts', 'lastExit'] as const);
}

const LABEL = { pubsub: 'the Pub/Sub emulator', firestore: 'the Firestore emulator' } as const;

/** One progress line, saying what a restart loses. */
export function describeEmulatorEvent(name: 'pubsub' | 'firestore', event: SupervisorEvent, spec: MeshSpec): string {
  const label = LABEL[name];
  const wait = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
  switch (event.kind) {
    case 'exited': {
      const loses =
        name === 'pubsub'
          ? 'the messages it held are gone (it keeps nothing); the spec is applied again'
          : `it comes back from its last export: writes since then (at most local.firestoreExportEvery, ${spec.local.firestoreExportEverySeconds} s) are gone`;
      return `${label} exited (${event.exit.signal ?? `code ${event.exit.code}`}); restarting in ${wait(event.retryInMs)}; ${loses}`;
    }
    case 'restarted':
      return `${label} restarted (pid ${event.pid}; restart ${event.restarts}); ${name === 'pubsub' ? 'spec applied again' : 'its last export imported'}`;
    case 'restart-failed':
      return `${label} did not start again (${event.error}); next try in ${wait(event.retryInMs)}`;
  }
}
