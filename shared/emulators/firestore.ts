import * as fs from 'node:fs';
import * as path from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { jvmEnv } from './jvm';
import { startEmulatorProcess } from './process';
import { findEmulator } from './sdk';
import { onFreePort } from './ports';
import type { EmulatorOptions, RunningEmulator } from './pubsub';

export interface FirestoreEmulatorOptions extends EmulatorOptions {
  /**
   * Local persistence: the newest export in this folder is imported at start, and stop() exports the
   * `persistProjects` into it first. (The wrapper's --export-on-exit never fires when the process
   * group is stopped with a signal, so the export is requested over the emulator's REST API.)
   */
  dataDir?: string;
  /** Projects whose data stop() exports into dataDir. Default none. */
  persistProjects?: string[];
  /**
   * Also export them this often while running, so a crash (kill -9 of the emulator or of `npm
   * start`, where stop() never runs) loses at most this much. Default 0: only on stop().
   */
  exportEveryMs?: number;
  /** Told when a periodic export fails (the next one tries again). */
  onExportError?: (error: Error) => void;
}

export interface RunningFirestoreEmulator extends RunningEmulator {
  /** Exports the projects' data into dataDir now (stop() does it too); returns the export folder. */
  exportData(projects: string[]): Promise<string>;
}

const EXPORT_PREFIX = 'firestore_export_';

export async function startFirestoreEmulator(options: FirestoreEmulatorOptions = {}): Promise<RunningFirestoreEmulator> {
  const launcher = findEmulator('firestore');
  const host = options.host ?? '127.0.0.1';
  const previous = options.dataDir ? latestExport(options.dataDir) : undefined;
  const { hostPort, proc } = await onFreePort(options.port, async (port) => {
    const args = ['start', `--host=${host}`, `--port=${port}`];
    // The emulator itself wants the export's metadata file (the gcloud wrapper takes the folder).
    if (previous) args.push(`--import-data=${path.join(previous, `${path.basename(previous)}.overall_export_metadata`)}`);
    const proc = await startEmulatorProcess({
      name: 'firestore',
      command: launcher,
      args,
      readyUrl: `http://${host}:${port}/`,
      readyLog: `API endpoint: http://${host}:${port}`,
      logFile: options.logFile,
      env: jvmEnv(options.jvmOptions),
    });
    return { hostPort: `${host}:${port}`, proc };
  });

  const exportOnce = async (projects: string[]): Promise<string> => {
    const dir = options.dataDir;
    if (!dir) throw new Error('startFirestoreEmulator: exportData needs options.dataDir');
    fs.mkdirSync(dir, { recursive: true });
    const startedAt = Date.now();
    for (const project of projects) {
      const response = await fetch(`http://${hostPort}/emulator/v1/projects/${project}:export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ database: `projects/${project}/databases/(default)`, export_directory: path.resolve(dir) }),
      });
      if (!response.ok) throw new Error(`firestore export of ${project} failed: ${response.status} ${await response.text()}`);
    }
    // Written by this export: folders are named by the second, so one within the same second as the
    // last (a periodic export and an asked-for one) rewrites that folder rather than adding one.
    const newest = latestExport(dir);
    const metadata = newest && path.join(newest, `${path.basename(newest)}.overall_export_metadata`);
    if (!metadata || fs.statSync(metadata).mtimeMs < startedAt - 1000) throw new Error(`firestore export wrote nothing into ${dir}`);
    // Keep only the newest export: each one is a full copy.
    for (const f of fs.readdirSync(dir))
      if (f.startsWith(EXPORT_PREFIX) && path.join(dir, f) !== newest) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    return newest;
  };
  // Exports run one after another, periodic or asked for: two at once raced over the same folder.
  let queue: Promise<unknown> = Promise.resolve();
  const exportData = (projects: string[]): Promise<string> => {
    const run = queue.then(() => exportOnce(projects));
    queue = run.catch(() => undefined);
    return run;
  };

  // One export at a time: a periodic one still running when the next is due is not doubled.
  let exporting: Promise<unknown> | undefined;
  const persist = options.dataDir && options.persistProjects?.length ? options.persistProjects : undefined;
  const periodic =
    persist && options.exportEveryMs
      ? setInterval(() => {
          exporting ??= exportData(persist)
            .catch((error: Error) => options.onExportError?.(error))
            .finally(() => (exporting = undefined));
        }, options.exportEveryMs)
      : undefined;
  periodic?.unref();
  // Once it has exited there is nothing to export; a restarted instance on the port exports itself.
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
    clearInterval(periodic);
  });

  return {
    hostPort,
    process: proc,
    exportData,
    stop: async () => {
      clearInterval(periodic);
      try {
        await exporting;
        if (persist && !exited) await exportData(persist);
      } finally {
        await proc.stop();
      }
    },
  };
}

/** The newest `firestore_export_<seconds>` folder in dir that holds a complete export. */
export function latestExport(dir: string): string | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  const complete = entries
    .filter((f) => f.startsWith(EXPORT_PREFIX))
    .filter((f) => fs.existsSync(path.join(dir, f, `${f}.overall_export_metadata`)))
    .sort((a, b) => Number(a.slice(EXPORT_PREFIX.length)) - Number(b.slice(EXPORT_PREFIX.length)));
  return complete.length ? path.join(dir, complete[complete.length - 1]) : undefined;
}

export function emulatorFirestore(hostPort: string, projectId: string): Firestore {
  // The client prefers FIRESTORE_EMULATOR_HOST over its `host` setting: refuse rather than silently talk to another emulator.
  const fromEnv = process.env.FIRESTORE_EMULATOR_HOST;
  if (fromEnv && fromEnv !== hostPort)
    throw new Error(`emulatorFirestore(${hostPort}): FIRESTORE_EMULATOR_HOST=${fromEnv} would win over the host setting; unset it or make it match`);
  return new Firestore({ projectId, host: hostPort, ssl: false, customHeaders: { Authorization: 'Bearer owner' } });
}

/**
 * A client of the emulator at hostPort whatever FIRESTORE_EMULATOR_HOST says (the client reads the
 * variable at construction; it is set for that moment only): for a process that talks to an emulator
 * of its own beside another one (a test's local mesh, the tools).
 */
export function firestoreAtHost(hostPort: string, projectId: string): Firestore {
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = hostPort;
  try {
    return emulatorFirestore(hostPort, projectId);
  } finally {
    if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}

/** Deletes every document of a project's default database on the emulator. */
export async function resetFirestoreProject(hostPort: string, projectId: string): Promise<void> {
  const response = await fetch(`http://${hostPort}/emulator/v1/projects/${projectId}/databases/(default)/documents`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`firestore reset failed: ${response.status} ${await response.text()}`);
}
