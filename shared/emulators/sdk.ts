/**
 * Finds Google's emulators in the Cloud SDK. They cannot be installed by this project, so a missing
 * one fails at once with what to install.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors';

export type EmulatorName = 'pubsub' | 'firestore';

const RELATIVE: Record<EmulatorName, string> = {
  pubsub: 'platform/pubsub-emulator/bin/cloud-pubsub-emulator',
  firestore: 'platform/cloud-firestore-emulator/cloud_firestore_emulator',
};

const INSTALL_HINT: Record<EmulatorName, string> = {
  pubsub: 'gcloud components install pubsub-emulator  (or: apt-get install google-cloud-cli-pubsub-emulator)',
  firestore: 'gcloud components install cloud-firestore-emulator  (or: apt-get install google-cloud-cli-firestore-emulator)',
};

export class EmulatorMissingError extends UserError {
  override readonly name = 'EmulatorMissingError';
  constructor(
    readonly emulator: EmulatorName,
    detail: string,
  ) {
    super(
      `the ${emulator} emulator is not installed (${detail}). Install the Google Cloud CLI with Java 17+, then: ${INSTALL_HINT[emulator]}. Set CLOUDSDK_ROOT if the SDK lives elsewhere.`,
    );
  }
}

let cachedRoots: string[] | undefined;

function candidateRoots(): string[] {
  if (cachedRoots) return cachedRoots;
  const roots: string[] = [];
  if (process.env.CLOUDSDK_ROOT) roots.push(process.env.CLOUDSDK_ROOT);
  try {
    const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20000,
    }).trim();
    if (root) roots.push(root);
  } catch {
    // gcloud not on PATH: fall back to the usual install locations.
  }
  roots.push('/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk', path.join(os.homedir(), 'google-cloud-sdk'));
  cachedRoots = [...new Set(roots)];
  return cachedRoots;
}

/** Absolute path of the emulator's launcher, or EmulatorMissingError. */
export function findEmulator(emulator: EmulatorName, roots = candidateRoots()): string {
  for (const root of roots) {
    const launcher = path.join(root, RELATIVE[emulator]);
    if (fs.existsSync(launcher)) return launcher;
  }
  throw new EmulatorMissingError(emulator, `looked for ${RELATIVE[emulator]} under ${roots.join(', ')}`);
}

/** Both emulators need a Java runtime on PATH. */
export function assertJava(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore', timeout: 20000 });
  } catch {
    throw new EmulatorMissingError('pubsub', 'java is not on PATH; the emulators need Java 17 or newer');
  }
}
