import type { Message, PubSub } from '@google-cloud/pubsub';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { testPubSub, uniqueProject } from '../support/emulators';
import { receive } from '../support/pull';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: dlq-test
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created]
    orderingKey: orderId
services:
  worker: { localPort: 18080 }
consumers:
  always-fails:
    topic: orders
    delivery: pull
    service: worker
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);

let pubsub: PubSub;
beforeEach(async () => {
  pubsub = testPubSub(uniqueProject('dlq'));
  await applyLocal({ pubsub, spec });
});
afterEach(() => pubsub.close());

describe('dead-letter policy applied by mesh apply --local', () => {
  it('moves a message that keeps failing to the dead-letter hold subscription after max attempts', async () => {
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/dlq' });
    const { event } = await publisher.publish('orders', 'order.created', { orderId: 'o-dead', customerId: 'c', sequence: 1 });

    const attempts: number[] = [];
    const sub = pubsub.subscription('always-fails');
    sub.on('message', (m: Message) => {
      attempts.push(m.deliveryAttempt);
      m.nack();
    });
    try {
      const [dead] = await receive(pubsub, 'always-fails-dlq-hold', 1, 45000);
      expect(dead.attributes['ce-id']).toBe(event.id);
      expect(dead.attributes.CloudPubSubDeadLetterSourceSubscription).toBe('always-fails');
      expect(Number(dead.attributes.CloudPubSubDeadLetterSourceDeliveryCount)).toBe(5);
      expect(JSON.parse(dead.data.toString()).orderId).toBe('o-dead');
    } finally {
      await sub.close();
    }
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
  });
});
