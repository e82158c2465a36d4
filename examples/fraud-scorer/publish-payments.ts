/**
 * Publishes a few payments for three users, interleaved, to the local mesh started with
 * `npm start -- --spec examples/fraud-scorer/mesh.yaml`:
 *   npx tsx examples/fraud-scorer/publish-payments.ts
 * The MeshPublisher sets each message's ordering key from the topic's `orderingKey` (userId).
 * u2 gets four authorizations within a minute (flagged `velocity`), u3 a refund of a payment never
 * captured (flagged `refund-before-capture`), u1 nothing unusual.
 */
import { localPubSub } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { loadSpec } from '../../shared/spec';

export const PAYMENTS: [string, string, string, number][] = [
  ['u1', 'payment.authorized', 'p1', 1200],
  ['u2', 'payment.authorized', 'p2', 500],
  ['u3', 'payment.authorized', 'p3', 900],
  ['u1', 'payment.captured', 'p1', 1200],
  ['u2', 'payment.authorized', 'p4', 500],
  ['u3', 'payment.refunded', 'p3', 900],
  ['u2', 'payment.authorized', 'p5', 500],
  ['u2', 'payment.authorized', 'p6', 500],
  ['u1', 'payment.refunded', 'p1', 1200],
];

async function main(): Promise<void> {
  const spec = loadSpec(process.argv[2] ?? `${__dirname}/mesh.yaml`);
  const pubsub = localPubSub(spec);
  const publisher = new MeshPublisher({ pubsub, spec, source: '//examples/fraud-scorer' });
  for (const [userId, type, paymentId, amountCents] of PAYMENTS) {
    const { event } = await publisher.publish('payments', type, { userId, paymentId, amountCents, country: 'NL' });
    console.log(`${userId} ${type} ${paymentId} -> ${event.id}`);
  }
  await pubsub.close();
}

if (require.main === module) void main();
