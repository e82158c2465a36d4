/**
 * Runs the mesh on one machine: Google's emulators on the spec's local ports, then the spec applied.
 * `npm start` and the end-to-end test share this path. Anything started is stopped again if a
 * later step fails, so a failed start leaves no process or port behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MeshSpec } from '../spec/types';
import { assertJava, assertPortFree, findEmulator, startFirestoreEmulator, startPubsubEmulator, type RunningEmulator } from '../emulators';
import { applyLocal, type ApplyStep } from './apply';
import { localPubSub } from './connect';

export interface LocalMeshOptions {
  /** Start from empty data instead of what the last run left in spec.local.dataDir. */
  fresh?: boolean;
  /** Progress lines for the terminal. */
  onProgress?: (line: string) => void;
}

export interface LocalMesh {
  pubsubHost: string;
  firestoreHost: string;
  applied: ApplyStep[];
  stop(): Promise<void>;
}

export async function startLocalMesh(spec: MeshSpec, options: LocalMeshOptions = {}): Promise<LocalMesh> {
  const progress = options.onProgress ?? (() => undefined);
  // Check everything that can be checked before starting anything.
  findEmulator('pubsub');
  findEmulator('firestore');
  assertJava();
  await assertPortFree(spec.local.pubsubPort, 'local.pubsubPort');
  await assertPortFree(spec.local.firestorePort, 'local.firestorePort');

  const dataDir = spec.local.dataDir;
  if (options.fresh) fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true });

  const started: RunningEmulator[] = [];
  const stop = async () => {
    await Promise.all(started.splice(0).map((e) => e.stop()));
  };
  try {
    progress(`starting Pub/Sub emulator on :${spec.local.pubsubPort} and Firestore emulator on :${spec.local.firestorePort}`);
    const [pubsubEmulator, firestoreEmulator] = await Promise.all([
      startPubsubEmulator({ port: spec.local.pubsubPort, logFile: path.join(dataDir, 'logs', 'pubsub.log') }).then((e) => (started.push(e), e)),
      startFirestoreEmulator({ port: spec.local.firestorePort, dataDir: path.join(dataDir, 'firestore'), logFile: path.join(dataDir, 'logs', 'firestore.log') }).then((e) => (started.push(e), e)),
    ]);
    progress('applying the spec');
    process.env.PUBSUB_EMULATOR_HOST = pubsubEmulator.hostPort;
    const pubsub = localPubSub(spec);
    let applied: ApplyStep[];
    try {
      applied = await applyLocal({ pubsub, spec });
    } finally {
      await pubsub.close();
    }
    return { pubsubHost: pubsubEmulator.hostPort, firestoreHost: firestoreEmulator.hostPort, applied, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
