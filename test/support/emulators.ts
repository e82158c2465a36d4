/** Per-test access to the emulators started by global-setup. Each test file uses its own project, so tests never see each other's state. */
import { emulatorFirestore, emulatorPubSub } from '../../shared/emulators';

let counter = 0;

export function uniqueProject(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: system tests must run through jest's "system" project, which starts the emulators`);
  return value;
}

export const pubsubHost = () => required('PUBSUB_EMULATOR_HOST');
export const firestoreHost = () => required('FIRESTORE_EMULATOR_HOST');
export const testPubSub = (projectId: string) => emulatorPubSub(pubsubHost(), projectId);
export const testFirestore = (projectId: string) => emulatorFirestore(firestoreHost(), projectId);

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
