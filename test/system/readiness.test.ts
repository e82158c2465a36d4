/**
 * Readiness follows Firestore (issue 19): with the processor's own Firestore emulator stopped,
 * /readyz answers 503 naming Firestore within 5 s, a delivery whose handler hangs on Firestore is
 * retried after the handler deadline instead of holding its slot, and readiness comes back when a
 * Firestore answers on that address again. Real emulators and clients; nothing mocked.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { createProcessorApp, type ProcessorApp } from '../../services/processor/app';
import { createLogger } from '../../shared/consumer';
import { emulatorFirestore, freePort, startFirestoreEmulator, type RunningFirestoreEmulator } from '../../shared/emulators';
import { toPubsubMessage } from '../../shared/envelope';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { loadSpec } from '../../shared/spec';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';

const spec = loadSpec();
const project = uniqueProject('readiness');

describe('processor readiness while its Firestore is down', () => {
  let emulator: RunningFirestoreEmulator | undefined;
  let firestore: Firestore;
  let pubsub: PubSub;
  let service: ProcessorApp;
  let port: number;
  let hostPort: string;

  beforeAll(async () => {
    emulator = await startFirestoreEmulator();
    hostPort = emulator.hostPort;
    // Its own emulator, so stopping it leaves the other suites' alone; the client reads
    // FIRESTORE_EMULATOR_HOST (the shared one) when it is built, so point it here for that moment.
    const shared = process.env.FIRESTORE_EMULATOR_HOST;
    process.env.FIRESTORE_EMULATOR_HOST = emulator.hostPort;
    try {
      firestore = emulatorFirestore(emulator.hostPort, project);
    } finally {
      process.env.FIRESTORE_EMULATOR_HOST = shared;
    }
    pubsub = testPubSub(project);
    port = await freePort();
    await applyLocal({ pubsub, spec, serviceUrls: { processor: `http://127.0.0.1:${port}` } });
    service = createProcessorApp({
      spec,
      pubsub,
      firestore,
      verifyPushAuth: false,
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      handlerTimeoutMs: 1500,
      dependencyProbe: { intervalMs: 1000, timeoutMs: 1000 },
    });
    await service.start(port, '127.0.0.1');
  }, 90_000);

  afterAll(async () => {
    await service?.stop();
    // terminate() waits for every call the client still has (the hung delivery's, retried with
    // backoff) and it is given an emulator that answers, so none of them ends after the test file
    // does: one that did once failed in whatever file the worker ran next (CI, stop 27).
    if (!emulator) emulator = await startFirestoreEmulator({ port: Number(hostPort.split(':')[1]) });
    await firestore?.terminate();
    await emulator.stop();
    await pubsub?.close();
  }, 120_000);

  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: (await res.json()) as { reasons?: string[] } };
  };

  it('is ready while Firestore answers', async () => {
    await eventually(async () => ((await readyz()).status === 200 ? true : undefined), 20_000, 'ready');
  });

  it('answers 503 naming Firestore within 5 s of it going away, and a hanging delivery is retried after the handler deadline', async () => {
    await emulator!.stop();
    emulator = undefined;
    const stoppedAt = Date.now();
    const notReady = await eventually(
      async () => {
        const r = await readyz();
        return r.status === 503 ? r : undefined;
      },
      10_000,
      'readyz 503',
    );
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(notReady.body.reasons?.join('; ')).toMatch(/firestore unreachable/);

    const { event } = new MeshPublisher({ pubsub, spec, source: '//readiness' }).prepare('analytics', 'click', { userId: 'u1', page: '/' });
    const out = toPubsubMessage(event);
    const started = Date.now();
    const outcome = await service.pipelines['processor-analytics']({ ...out, messageId: 'm-ready-1', publishTime: new Date(), deliveryAttempt: 1 }, 'sub');
    expect(outcome).toBe('retry');
    // The handler deadline (1.5 s here, 10 s by default), not the client's own minute of retries.
    expect(Date.now() - started).toBeLessThan(4000);
  }, 30_000);

  it('is ready again once Firestore answers again', async () => {
    emulator = await startFirestoreEmulator({ port: Number(hostPort.split(':')[1]) });
    await eventually(async () => ((await readyz()).status === 200 ? true : undefined), 45_000, 'readyz 200 again');
  }, 60_000);
});
