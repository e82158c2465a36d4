/**
 * The push side of a pause (shared/operations/pause.ts) against the real Pub/Sub and Firestore
 * emulators: a subscription Pub/Sub pushes itself (GCP; here `push: 'emulator'`) is switched to pull
 * by modifyPushConfig with an empty config, both of the consumer's subscriptions, and gets its push
 * endpoint back on resume. If the control cannot be written, the push config is put back at once,
 * so subscription and control never disagree. The audit is a recorder here (its table:
 * test/system/pause.test.ts).
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { applyLocal } from '../../shared/local';
import { auditedPause, auditedResume, readControl, type OperationRecord } from '../../shared/operations';
import { consumerResources } from '../../shared/spec';
import { testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { REPO_TOPICS_YAML, specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: pause-push-test
${REPO_TOPICS_YAML}
services:
  worker: { localPort: 18095 }
consumers:
  worker-analytics:
    topic: analytics
    delivery: push
    service: worker
    ackDeadline: 20s
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);
const consumer = spec.consumers['worker-analytics'];
const names = consumerResources(consumer);
const ENDPOINT = 'http://127.0.0.1:9/pubsub/push/worker-analytics';
const who = { owner: 'oncall', intent: 'endpoint down', operator: 'test' };

let pubsub: PubSub;
let firestore: Firestore;
const records: OperationRecord[] = [];
const audit = { record: async (r: OperationRecord) => void records.push(r) };

beforeAll(async () => {
  const project = uniqueProject('pause-push');
  pubsub = testPubSub(project);
  firestore = testFirestore(project);
  await applyLocal({ pubsub, spec, serviceUrls: { worker: 'http://127.0.0.1:9' }, push: 'emulator' });
});

afterAll(async () => {
  await pubsub?.close();
  await firestore?.terminate();
});

const endpoints = async () =>
  Promise.all([names.subscription, names.redriveSubscription].map(async (s) => (await pubsub.subscription(s).getMetadata())[0].pushConfig?.pushEndpoint ?? ''));

it('switches both subscriptions to pull, keeps their push config in the control, and puts it back on resume', async () => {
  expect(await endpoints()).toEqual([ENDPOINT, ENDPOINT]);
  await auditedPause({ pubsub, firestore, audit }, { consumer, ...who });
  expect(await endpoints()).toEqual(['', '']);
  const control = await readControl(firestore, consumer.name);
  expect(control?.paused).toBe(true);
  expect(Object.fromEntries(Object.entries(control?.pushConfigs ?? {}).map(([s, c]) => [s, c.pushEndpoint]))).toEqual({
    [names.subscription]: ENDPOINT,
    [names.redriveSubscription]: ENDPOINT,
  });
  await auditedResume({ pubsub, firestore, audit }, { consumer, ...who });
  expect(await endpoints()).toEqual([ENDPOINT, ENDPOINT]);
  expect((await readControl(firestore, consumer.name))?.paused).toBe(false);
  expect(records.map((r) => [r.operation, r.state])).toEqual([
    ['pause', 'started'],
    ['pause', 'completed'],
    ['resume', 'started'],
    ['resume', 'completed'],
  ]);
  await expect(auditedResume({ pubsub, firestore, audit }, { consumer, ...who })).rejects.toThrow(/is not paused/);
});

it('puts the push config back when the control cannot be written, and records the failure', async () => {
  records.length = 0;
  // Reads work, the write fails: a Firestore whose documents refuse set().
  const refusing = new Proxy(firestore, {
    get(target, prop, receiver) {
      if (prop !== 'doc') return Reflect.get(target, prop, receiver);
      return (path: string) => {
        const ref = target.doc(path);
        return new Proxy(ref, { get: (r, p, rr) => (p === 'set' ? () => Promise.reject(new Error('firestore unavailable')) : Reflect.get(r, p, rr)) });
      };
    },
  });
  await expect(auditedPause({ pubsub, firestore: refusing, audit }, { consumer, ...who })).rejects.toThrow('firestore unavailable');
  expect(await endpoints()).toEqual([ENDPOINT, ENDPOINT]);
  expect((await readControl(firestore, consumer.name))?.paused).toBe(false);
  expect(records.map((r) => [r.operation, r.state, r.detail ?? ''])).toEqual([
    ['pause', 'started', ''],
    ['pause', 'failed', 'firestore unavailable'],
  ]);
});
