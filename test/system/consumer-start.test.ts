/**
 * A pull consumer started before its subscription exists, on the real Pub/Sub emulator: the service
 * stays up (/healthz 200), /readyz answers 503 saying the subscription is missing and that `mesh apply
 * --local` creates it, and once the subscription is created the consumer opens it and consumes. In GCP
 * the same wait covers a subscription created after the revision starts and an IAM grant still
 * propagating (PERMISSION_DENIED, which the emulator, having no IAM, cannot answer: see
 * test/unit/consumer-pull-start.test.ts). Before the fix start() rejected and the process exited 1.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, createMeshService, type DeadLetterSink, type PullTransport } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { consumerResources } from '../../shared/spec/names';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: consumer-start-test
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click]
services:
  worker: { localPort: 18094 }
consumers:
  worker-clicks: { topic: analytics, delivery: pull, service: worker }
warehouse: { dataset: test }
`);
const consumer = spec.consumers['worker-clicks'];
const noSink: DeadLetterSink = { publish: async () => 'x', flush: async () => undefined };

let pubsub: PubSub;

afterEach(async () => {
  await pubsub?.close();
});

it.each(['unary', 'streaming'] as PullTransport[])('waits for a subscription created after it starts, then consumes it (%s)', async (transport) => {
  pubsub = testPubSub(uniqueProject(`consumer-start-${transport}`));
  await applyLocal({ pubsub, spec });
  const { subscription, redriveSubscription } = consumerResources(consumer);
  await Promise.all([pubsub.subscription(subscription).delete(), pubsub.subscription(redriveSubscription).delete()]);

  const warnings: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'warn', destination: { write: (line: string) => void warnings.push(JSON.parse(line)) } });
  const userIds: string[] = [];
  const service = createMeshService({
    spec,
    serviceName: 'worker',
    handlers: { 'worker-clicks': async ({ event }) => (userIds.push(event.data.userId), 'done') },
    pubsub,
    deadLetter: () => noSink,
    log,
    pullTransport: transport,
    pullOpenRetry: { initialDelayMs: 200, maxDelayMs: 1000 },
  });
  const port = await service.start(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  try {
    const body = await eventually(
      async () => {
        const res = await fetch(`${base}/readyz`);
        const json = await res.json();
        return res.status === 503 && json.reasons?.length === 2 && json.reasons.every((r: string) => r.includes('NOT_FOUND')) ? json : undefined;
      },
      10_000,
      '/readyz 503 naming both missing subscriptions',
    );
    expect(body.reasons).toContainEqual(
      expect.stringMatching(/^worker-clicks: waiting for subscription worker-clicks to exist \(NOT_FOUND: run `mesh apply --local` first\?\), retry in \d+s$/),
    );
    expect(warnings).toContainEqual(
      expect.objectContaining({ severity: 'WARNING', code: 'NOT_FOUND', subscription: 'worker-clicks', roleNeeded: 'roles/pubsub.subscriber' }),
    );

    // Still waiting a while later, and alive: the liveness probe passes.
    await sleep(1500);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect(service.server!.listening).toBe(true);

    await applyLocal({ pubsub, spec });
    await eventually(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 10_000, '/readyz 200 once the subscriptions exist');
    const publisher = new MeshPublisher({ pubsub, spec, source: '//system-test' });
    await publisher.publish('analytics', 'click', { userId: 'u-late' });
    await eventually(() => (userIds.includes('u-late') ? true : undefined), 15_000, 'the click consumed');
  } finally {
    await service.stop();
  }
});
