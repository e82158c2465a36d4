/**
 * The fourth service of docs/adding-a-consumer.md on the real emulators: payments of three users,
 * interleaved and with a duplicate, are scored once each and in each user's publish order
 * (ordering key = userId, pull, exactly-once), and the flags that depend on that order are right.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import * as path from 'node:path';
import { createFraudScorerApp, type FraudScorerApp } from '../../services/fraud-scorer/app';
import { createLogger } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { loadSpec } from '../../shared/spec';
import { PAYMENTS } from '../../examples/fraud-scorer/publish-payments';
import { eventually, testFirestore, testPubSub, uniqueProject } from '../support/emulators';

const spec = loadSpec(path.join(__dirname, '../../examples/fraud-scorer/mesh.yaml'));

describe('the fraud scorer example', () => {
  const project = uniqueProject('fraud');
  let pubsub: PubSub;
  let firestore: Firestore;
  let service: FraudScorerApp;

  beforeAll(async () => {
    pubsub = testPubSub(project);
    firestore = testFirestore(project);
    await applyLocal({ pubsub, spec: { ...spec, project } });
    service = createFraudScorerApp({ spec, pubsub, firestore, verifyPushAuth: false, log: createLogger({ level: 'silent' }) });
    await service.start(await freePort(), '127.0.0.1');
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
    await firestore?.terminate();
    await pubsub?.close();
  });

  it('scores each payment once, in each user publish order, and flags by that order', async () => {
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test' });
    const ids: Record<string, string[]> = {};
    for (const [userId, type, paymentId, amountCents] of PAYMENTS) {
      const { event } = await publisher.publish('payments', type, { userId, paymentId, amountCents, country: 'NL' });
      (ids[userId] ??= []).push(event.id);
      // A producer retry: the same event again (same id and time) must not count twice.
      if (paymentId === 'p4') await publisher.publish('payments', type, { userId, paymentId, amountCents, country: 'NL' }, { id: event.id, time: event.time });
    }
    const risks = await eventually(
      async () => {
        const all = await Promise.all(['u1', 'u2', 'u3'].map((u) => service.store.risk(u)));
        return all.every((r, i) => r && r.payments === ids[`u${i + 1}`].length) ? all : undefined;
      },
      30_000,
      'every payment scored',
    );
    const [u1, u2, u3] = risks;
    for (const risk of risks) expect(risk!.lastEvents).toEqual(ids[risk!.userId]);
    expect(u1!.flags).toEqual([]); // refunded after capture: fine in this order, flagged in the other
    expect(u2!.flags).toEqual(['velocity']);
    expect(u3!.flags).toEqual(['refund-before-capture']);
    expect(service.stats.of('fraud-payments')).toMatchObject({ done: PAYMENTS.length, duplicate: 1, deadLettered: 0 });
  }, 60_000);
});
