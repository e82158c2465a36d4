import * as fs from 'node:fs';
import * as os from 'node:os';
import { EmulatorMissingError, findEmulator, isPortFree, resetFirestoreProject, resetPubsubProject, startPubsubEmulator } from '../../shared/emulators';
import { firestoreHost, testFirestore, testPubSub, uniqueProject } from '../support/emulators';

describe('emulator harness', () => {
  it('fails at once, saying what to install, when an emulator is missing', () => {
    expect(() => findEmulator('pubsub', [os.tmpdir()])).toThrow(EmulatorMissingError);
    expect(() => findEmulator('firestore', [os.tmpdir()])).toThrow(/gcloud components install cloud-firestore-emulator/);
  });

  it('stops the whole process group, so the JVM lets go of the port', async () => {
    const emulator = await startPubsubEmulator();
    const port = Number(emulator.hostPort.split(':')[1]);
    expect(await isPortFree(port)).toBe(false);
    await emulator.stop();
    expect(() => process.kill(-emulator.process.pid, 0)).toThrow(/ESRCH/);
    expect(await isPortFree(port)).toBe(true);
  });

  it('starts the JVM with the emulator JVM options (C1 only by default), added to JAVA_TOOL_OPTIONS', async () => {
    const emulator = await startPubsubEmulator({ jvmOptions: '-XX:TieredStopAtLevel=1 -Dmesh.test=jvm' });
    try {
      expect(fs.readFileSync(emulator.process.logFile, 'utf8')).toMatch(/Picked up JAVA_TOOL_OPTIONS: .*-XX:TieredStopAtLevel=1 -Dmesh\.test=jvm/);
    } finally {
      await emulator.stop();
    }
  });

  it('resets a Pub/Sub project', async () => {
    const pubsub = testPubSub(uniqueProject('reset'));
    try {
      const [topic] = await pubsub.createTopic('to-be-reset');
      await topic.createSubscription('to-be-reset-sub');
      await resetPubsubProject(pubsub);
      expect((await pubsub.getTopics())[0]).toEqual([]);
      expect((await pubsub.getSubscriptions())[0]).toEqual([]);
    } finally {
      await pubsub.close();
    }
  });

  it('resets a Firestore project', async () => {
    const project = uniqueProject('reset');
    const db = testFirestore(project);
    try {
      await db.doc('orders/o-1').create({ state: 'paid' });
      await resetFirestoreProject(firestoreHost(), project);
      expect((await db.doc('orders/o-1').get()).exists).toBe(false);
    } finally {
      await db.terminate();
    }
  });
});
