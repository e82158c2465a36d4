/**
 * The local Firestore survives a crash (issue 19): with periodic exports, a `kill -9` of the
 * emulator's whole process group (stop() never runs, so no export on stop) loses at most one export
 * interval; the next start imports the newest complete export. Real emulator, real kill.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emulatorFirestore, latestExport, startFirestoreEmulator, type RunningFirestoreEmulator } from '../../shared/emulators';
import { eventually, uniqueProject } from '../support/emulators';

/** emulatorFirestore refuses a host other than FIRESTORE_EMULATOR_HOST (the shared one): point it at this one while building. */
function clientOf(emulator: RunningFirestoreEmulator, project: string) {
  const shared = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = emulator.hostPort;
  try {
    return emulatorFirestore(emulator.hostPort, project);
  } finally {
    process.env.FIRESTORE_EMULATOR_HOST = shared;
  }
}

describe('Firestore emulator data across a kill -9', () => {
  it('keeps what was written more than one export interval before the crash', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-firestore-'));
    const project = uniqueProject('persist');
    const first = await startFirestoreEmulator({ dataDir, persistProjects: [project], exportEveryMs: 500 });
    const db = clientOf(first, project);
    try {
      await db.doc('orders/o-1').set({ state: 'paid' });
      // Wait for an export that holds it (one started after the write and finished).
      const writtenAt = Date.now();
      await eventually(
        () => {
          const newest = latestExport(dataDir);
          return newest && Number(path.basename(newest).split('_').pop()) * 1000 > writtenAt + 1000 ? newest : undefined;
        },
        15_000,
        'an export after the write',
      );
    } finally {
      await db.terminate();
    }
    // The crash: SIGKILL to the group; no export on stop.
    process.kill(-first.process.pid, 'SIGKILL');
    await eventually(
      () => {
        try {
          process.kill(-first.process.pid, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      10_000,
      'the killed emulator to be gone',
    );

    const second = await startFirestoreEmulator({ dataDir });
    const again = clientOf(second, project);
    try {
      expect((await again.doc('orders/o-1').get()).data()).toEqual({ state: 'paid' });
    } finally {
      await again.terminate();
      await second.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
