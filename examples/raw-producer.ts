/**
 * A producer that uses only the plain @google-cloud/pubsub client, no mesh code: what a team in
 * another repository (or language) does. Run it against the local mesh:
 *
 *   npm start                                  # in one terminal
 *   PUBSUB_EMULATOR_HOST=127.0.0.1:8085 npx tsx examples/raw-producer.ts
 *
 * The contract (docs/producers.md):
 *  - data: the payload as plain JSON with EVERY field of the topic's schema revision present
 *    (Pub/Sub's JSON decoder does not apply Avro defaults; our schemas have no unions, so no
 *    {"string": "x"} wrapping is ever needed);
 *  - attributes: ce-id (unique, reused on retry), ce-type, ce-source, ce-specversion "1.0",
 *    ce-time (RFC 3339); optionally ce-subject, ce-dataschema (urn:event-mesh:schema:<topic>:<revision>),
 *    ce-traceparent (W3C), extension attributes ce-<name>, content-type application/json;
 *  - orderingKey: the order id on the orders topic, with messageOrdering enabled.
 * Data that does not match the schema is refused by Pub/Sub with INVALID_ARGUMENT.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PubSub } from '@google-cloud/pubsub';

async function main(): Promise<void> {
  const pubsub = new PubSub({ projectId: process.env.GOOGLE_CLOUD_PROJECT ?? 'event-mesh-local' });
  const orders = pubsub.topic('orders', { messageOrdering: true });
  const orderId = `o-${Date.now()}`;
  const steps = [
    { type: 'order.created', data: { orderId, customerId: 'c-42', sequence: 1, amountCents: 2599, currency: 'EUR', itemCount: 2, reason: '', carrier: '' } },
    { type: 'order.paid', data: { orderId, customerId: 'c-42', sequence: 2, amountCents: 2599, currency: 'EUR', itemCount: 2, reason: '', carrier: '' } },
  ];
  for (const step of steps) {
    const messageId = await orders.publishMessage({
      json: step.data,
      orderingKey: orderId,
      attributes: {
        'ce-id': randomUUID(),
        'ce-type': step.type,
        'ce-source': '//examples/raw-producer',
        'ce-specversion': '1.0',
        'ce-time': new Date().toISOString(),
        'ce-subject': orderId,
        'ce-dataschema': 'urn:event-mesh:schema:orders:v2',
        // W3C trace context (CloudEvents distributed tracing): consumers log under this trace id.
        'ce-traceparent': `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
        'content-type': 'application/json',
      },
    });
    console.log(`published ${step.type} for ${orderId}: message ${messageId}`);
  }

  // A payload missing a required field: Pub/Sub refuses it with INVALID_ARGUMENT (code 3).
  try {
    await pubsub.topic('orders').publishMessage({
      json: { orderId },
      attributes: { 'ce-id': randomUUID(), 'ce-type': 'order.paid', 'ce-source': '//examples/raw-producer', 'ce-specversion': '1.0' },
    });
  } catch (error) {
    console.log(`refused as expected: ${(error as Error).message}`);
  }
  await pubsub.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
