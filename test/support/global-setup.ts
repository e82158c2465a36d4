/**
 * Starts Google's real Pub/Sub and Firestore emulators once for the system tests, on free ports.
 * Missing emulators fail the run at once with what to install (EmulatorMissingError).
 */
import { assertJava, findEmulator, startFirestoreEmulator, startPubsubEmulator, type RunningEmulator } from '../../shared/emulators';

declare global {
  var __MESH_EMULATORS__: RunningEmulator[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  findEmulator('pubsub');
  findEmulator('firestore');
  assertJava();
  const [pubsub, firestore] = await Promise.all([startPubsubEmulator(), startFirestoreEmulator()]);
  globalThis.__MESH_EMULATORS__ = [pubsub, firestore];
  // Workers are forked after this, so they inherit these.
  process.env.PUBSUB_EMULATOR_HOST = pubsub.hostPort;
  process.env.FIRESTORE_EMULATOR_HOST = firestore.hostPort;
  process.env.METADATA_SERVER_DETECTION = 'none';
}
