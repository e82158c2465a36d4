/**
 * Clients for the local mesh. The emulators need no credentials; turning off metadata-server
 * detection keeps google-auth-library from probing the network for one.
 */
import type { MeshSpec } from '../spec/types';
import { emulatorFirestore } from '../emulators/firestore';
import { emulatorPubSub } from '../emulators/pubsub';
import { UserError } from '../errors';

process.env.METADATA_SERVER_DETECTION ??= 'none';

export function localPubsubHost(spec: MeshSpec): string {
  return process.env.PUBSUB_EMULATOR_HOST ?? `127.0.0.1:${spec.local.pubsubPort}`;
}

export function localPubSub(spec: MeshSpec, projectId = spec.project) {
  return emulatorPubSub(localPubsubHost(spec), projectId);
}

export function localFirestoreHost(spec: MeshSpec): string {
  return process.env.FIRESTORE_EMULATOR_HOST ?? `127.0.0.1:${spec.local.firestorePort}`;
}

export function localFirestore(spec: MeshSpec, projectId = spec.project) {
  return emulatorFirestore(localFirestoreHost(spec), projectId);
}

export class EmulatorUnreachableError extends UserError {
  override readonly name = 'EmulatorUnreachableError';
}

/** Fails in a second (instead of after the client's 60 s of retries) when nothing listens. */
export async function assertEmulatorUp(hostPort: string, what: string): Promise<void> {
  try {
    const response = await fetch(`http://${hostPort}/`, { signal: AbortSignal.timeout(2000) });
    if (response.ok) return;
  } catch {
    // fall through
  }
  throw new EmulatorUnreachableError(
    `no ${what} emulator answers at ${hostPort}; start the mesh with \`npm start\` (or point ${what === 'Pub/Sub' ? 'PUBSUB_EMULATOR_HOST' : 'FIRESTORE_EMULATOR_HOST'} at a running one)`,
  );
}
