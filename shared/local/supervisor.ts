/**
 * Keeps a local service or emulator running, as Cloud Run would a service: a process that exits
 * without being asked to (a crash, an OOM kill, `kill -9`) is started again on its port after a
 * backoff that doubles on each failed or short-lived run (1 s, 2 s, 4 s ... at most 30 s) and resets
 * once a run has stayed up for a minute. stop() stops the current process and any restart still
 * pending, so Ctrl-C leaves nothing behind, whichever instance is running.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProcessExit } from '../emulators/process';
import type { RunningService } from './services';

/** Where `npm start` keeps each service's state for `mesh status` (in spec.local.dataDir). */
export const SERVICES_STATE_FILE = 'services.json';
/** The emulators' state, beside it (services.json keeps its format: service name -> record). */
export const EMULATORS_STATE_FILE = 'emulators.json';

export interface SupervisedStateRecord {
  pid: number;
  state: ServiceState;
  restarts: number;
  lastExit?: ProcessExit & { at: string };
  /** When the record was written. */
  at: string;
}

export interface ServiceStateRecord extends SupervisedStateRecord {
  url: string;
}

type StateOf = Pick<Supervised<Supervisable>, 'name' | 'pid' | 'state' | 'restarts' | 'lastExit'>;

/** Writes every supervised service's state (atomically: a reader never sees half a file). */
export function writeServiceStates(dataDir: string, services: SupervisedService[]): void {
  const at = new Date().toISOString();
  writeJson(dataDir, SERVICES_STATE_FILE, Object.fromEntries(services.map((s) => [s.name, { url: s.url, ...recordOf(s, at) }])));
}

/** What the last `npm start` in `dataDir` wrote, or undefined. */
export function readServiceStates(dataDir: string): Record<string, ServiceStateRecord> | undefined {
  return readJson(dataDir, SERVICES_STATE_FILE);
}

/** Writes the supervised emulators' state (name -> record), as writeServiceStates does the services'. */
export function writeEmulatorStates(dataDir: string, emulators: StateOf[]): void {
  const at = new Date().toISOString();
  writeJson(dataDir, EMULATORS_STATE_FILE, Object.fromEntries(emulators.map((e) => [e.name, recordOf(e, at)])));
}

export function readEmulatorStates(dataDir: string): Record<string, SupervisedStateRecord> | undefined {
  return readJson(dataDir, EMULATORS_STATE_FILE);
}

function recordOf(s: StateOf, at: string): SupervisedStateRecord {
  return { pid: s.pid, state: s.state, restarts: s.restarts, lastExit: s.lastExit, at };
}

function writeJson(dataDir: string, name: string, value: unknown): void {
  const file = path.join(dataDir, name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

function readJson<T>(dataDir: string, name: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** `service`: the name of what is supervised (a service, or an emulator: pubsub, firestore). */
export type SupervisorEvent =
  | { service: string; kind: 'exited'; exit: ProcessExit; restarts: number; retryInMs: number }
  | { service: string; kind: 'restarted'; pid: number; restarts: number }
  | { service: string; kind: 'restart-failed'; error: string; restarts: number; retryInMs: number };

export interface SupervisorOptions {
  /** First wait before a restart. Default 1000 ms. */
  initialBackoffMs?: number;
  /** Longest wait. Default 30 000 ms. */
  maxBackoffMs?: number;
  /** A run that lasted this long resets the backoff. Default 60 000 ms. */
  stableAfterMs?: number;
  onEvent?: (event: SupervisorEvent) => void;
}

export type ServiceState = 'running' | 'restarting' | 'stopped';

/** What the supervisor can keep running: one process (group) it can watch and stop. */
export interface Supervisable {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process exits, whoever ended it. */
  readonly exited: Promise<ProcessExit>;
  stop(): Promise<void>;
}

/** A Supervisable whose pid follows the instance currently running. */
export interface Supervised<T extends Supervisable> extends Supervisable {
  readonly state: ServiceState;
  /** Times it was started again after exiting on its own. */
  readonly restarts: number;
  readonly lastExit?: ProcessExit & { at: string };
  /** The instance started last: the one running, or the one that exited while a restart is pending. */
  readonly current: T;
}

/** A RunningService whose pid follows the instance currently running. */
export interface SupervisedService extends RunningService {
  readonly state: ServiceState;
  /** Times it was started again after exiting on its own. */
  readonly restarts: number;
  readonly lastExit?: ProcessExit & { at: string };
}

/** Starts the service with `start` (a failure there is the caller's), then keeps it running. */
export async function superviseService(start: () => Promise<RunningService>, options: SupervisorOptions = {}): Promise<SupervisedService> {
  const supervised = await supervise(start, options);
  const own = {
    get url() {
      return supervised.current.url;
    },
    get logFile() {
      return supervised.current.logFile;
    },
    stop: () => supervised.stop(),
  };
  return followSupervised(own, supervised, ['name', 'pid', 'exited', 'state', 'restarts', 'lastExit'] as const);
}

/**
 * `target` with a getter for each of `keys` that reads `supervised` at each access, so the view
 * follows whichever instance runs now (a plain copy would keep the first instance's pid forever).
 */
export function followSupervised<T extends object, S extends Supervised<Supervisable>, K extends keyof S>(
  target: T,
  supervised: S,
  keys: readonly K[],
): T & Pick<S, K> {
  for (const key of keys) Object.defineProperty(target, key, { get: () => supervised[key], enumerable: true });
  return target as T & Pick<S, K>;
}

/**
 * Starts anything process-like with `start` (a failure there is the caller's), then starts it again
 * whenever it exits without stop(). `start` is the whole start: the instance counts as running (state,
 * restarts, the 'restarted' event) only once it resolves.
 */
export async function supervise<T extends Supervisable>(start: () => Promise<T>, options: SupervisorOptions = {}): Promise<Supervised<T>> {
  const initial = options.initialBackoffMs ?? 1000;
  const max = options.maxBackoffMs ?? 30_000;
  const stableAfter = options.stableAfterMs ?? 60_000;
  const emit = options.onEvent ?? (() => undefined);

  let current = await start();
  let startedAt = Date.now();
  let state: ServiceState = 'running';
  let restarts = 0;
  let backoff = initial;
  let lastExit: Supervised<T>['lastExit'];
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<T | undefined> | undefined;

  const nextWait = () => {
    const wait = backoff;
    backoff = Math.min(max, backoff * 2);
    return wait;
  };
  const scheduleRestart = (wait: number) => {
    timer = setTimeout(() => {
      timer = undefined;
      starting = start().then(
        (next) => {
          starting = undefined;
          if (state === 'stopped') return next; // stop() stops it
          current = next;
          startedAt = Date.now();
          restarts++;
          state = 'running';
          emit({ service: next.name, kind: 'restarted', pid: next.pid, restarts });
          watch(next);
          return next;
        },
        (error: Error) => {
          starting = undefined;
          if (state === 'stopped') return undefined;
          const retryInMs = nextWait();
          emit({ service: current.name, kind: 'restart-failed', error: error.message.split('\n')[0], restarts, retryInMs });
          scheduleRestart(retryInMs);
          return undefined;
        },
      );
    }, wait);
  };
  const watch = (instance: T) => {
    void instance.exited.then((exit) => {
      if (state === 'stopped' || instance !== current) return;
      lastExit = { ...exit, at: new Date().toISOString() };
      if (Date.now() - startedAt >= stableAfter) backoff = initial;
      state = 'restarting';
      const retryInMs = nextWait();
      emit({ service: instance.name, kind: 'exited', exit, restarts, retryInMs });
      scheduleRestart(retryInMs);
    });
  };
  watch(current);

  return {
    get name() {
      return current.name;
    },
    get pid() {
      return current.pid;
    },
    get exited() {
      return current.exited;
    },
    get current() {
      return current;
    },
    get state() {
      return state;
    },
    get restarts() {
      return restarts;
    },
    get lastExit() {
      return lastExit;
    },
    async stop() {
      state = 'stopped';
      clearTimeout(timer);
      const late = await starting;
      await Promise.all([current.stop(), late?.stop()]);
    },
  };
}
