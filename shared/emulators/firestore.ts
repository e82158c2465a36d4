import * as fs from 'node:fs';
import { Firestore } from '@google-cloud/firestore';
import { startEmulatorProcess } from './process';
import { findEmulator } from './sdk';
import { freePort } from './ports';
import type { EmulatorOptions, RunningEmulator } from './pubsub';

export interface FirestoreEmulatorOptions extends EmulatorOptions {
  /** Import this export folder at start and write one back on exit (local persistence). */
  dataDir?: string;
}

export async function startFirestoreEmulator(options: FirestoreEmulatorOptions = {}): Promise<RunningEmulator> {
  const launcher = findEmulator('firestore');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const args = ['start', `--host=${host}`, `--port=${port}`];
  if (options.dataDir) args.push(`--export-on-exit=${options.dataDir}`);
  if (options.dataDir && hasExport(options.dataDir)) args.push(`--import-data=${options.dataDir}`);
  const proc = await startEmulatorProcess({ name: 'firestore', command: launcher, args, readyUrl: `http://${host}:${port}/`, logFile: options.logFile });
  return { hostPort: `${host}:${port}`, process: proc, stop: () => proc.stop() };
}

function hasExport(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((f) => f.endsWith('.overall_export_metadata'));
  } catch {
    return false;
  }
}

export function emulatorFirestore(hostPort: string, projectId: string): Firestore {
  return new Firestore({ projectId, host: hostPort, ssl: false, customHeaders: { Authorization: 'Bearer owner' } });
}

/** Deletes every document of a project's default database on the emulator. */
export async function resetFirestoreProject(hostPort: string, projectId: string): Promise<void> {
  const response = await fetch(`http://${hostPort}/emulator/v1/projects/${projectId}/databases/(default)/documents`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`firestore reset failed: ${response.status} ${await response.text()}`);
}
