/**
 * An audited, selective redrive (shared/operations) against the real Pub/Sub emulator and the local
 * BigQuery endpoint (the real clients): refused without owner and intent; a selection by reason or
 * event sends back only what it names and leaves the poison held; every redrive is recorded in
 * operations_audit (who, why, what, outcome), a failed one too, and a failed one loses nothing.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import { BigQuery } from '@google-cloud/bigquery';
import type { Message, PubSub } from '@google-cloud/pubsub';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { listHeld } from '../../shared/consumer/dead-letter-hold';
import { deadLetterAttributes } from '../../shared/consumer/dead-letter';
import { toPubsubMessage } from '../../shared/envelope';
import { applyLocal } from '../../shared/local';
import { auditedRedrive, OperationsAudit } from '../../shared/operations';
import { MeshPublisher } from '../../shared/publisher';
import { UserError } from '../../shared/errors';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

const spec = specFromText(`
version: 1
project: redrive-audit
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created]
    orderingKey: orderId
services:
  worker: { localPort: 18080 }
consumers:
  flaky:
    topic: orders
    delivery: pull
    service: worker
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: redrive_audit }
`);

let local: LocalBigQuery;
let pubsub: PubSub;
let audit: OperationsAudit;
const project = uniqueProject('redrive');
const consumer = spec.consumers.flaky;
const who = { owner: 'orders-oncall', intent: 'the worker was down 04:10-04:20', operator: 'ana@test' };

beforeAll(async () => {
  local = await startLocalBigQuery();
  audit = new OperationsAudit(new BigQuery({ projectId: project, apiEndpoint: local.url }), spec, project);
  pubsub = testPubSub(project);
  await applyLocal({ pubsub, spec });
});
afterAll(async () => {
  await pubsub.close();
  await local.stop();
});

const held = () => listHeld(pubsub, consumer, { idleMs: 1500 });

it('redrives only what it selects, audits each redrive, and a failed one loses nothing', async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/redrive-audit' });
  // Two events Pub/Sub dead-letters after max attempts (the worker was down), ...
  const down = pubsub.subscription('flaky');
  down.on('message', (m: Message) => m.nack());
  const exhausted = [];
  try {
    for (const orderId of ['o-down-1', 'o-down-2'])
      exhausted.push((await publisher.publish('orders', 'order.created', { orderId, customerId: 'c', sequence: 1 })).event.id);
    await eventually(async () => ((await held()).length === 2 ? true : undefined), 60000, 'both exhausted in the hold');
  } finally {
    await down.close();
  }
  // ... and one poison the runtime held with its reason.
  const poison = publisher.prepare('orders', 'order.created', { orderId: 'o-poison', customerId: 'c', sequence: 1 });
  const original = toPubsubMessage(poison.event, poison.orderingKey);
  await pubsub.topic('flaky-dlq').publishMessage({
    data: Buffer.from(original.data),
    attributes: deadLetterAttributes(
      { data: Buffer.from(original.data), attributes: original.attributes, messageId: 'm-poison', publishTime: new Date(), orderingKey: poison.orderingKey },
      { reason: 'schema', error: 'sequence must be an int', consumer: consumer.name, sourceSubscription: 'flaky' },
    ),
  });
  expect((await held()).map((h) => h.reason).sort()).toEqual(['max-delivery-attempts', 'max-delivery-attempts', 'schema']);

  // Nobody answers for it: refused before anything moves or is recorded.
  await expect(auditedRedrive(pubsub, audit, { consumer, operator: 'ana@test', intent: 'why not' })).rejects.toThrow(UserError);
  await expect(auditedRedrive(pubsub, audit, { consumer, operator: 'ana@test', owner: 'x', intent: '  ' })).rejects.toThrow(/--intent/);
  expect(await audit.latest()).toEqual([]);
  expect(await held()).toHaveLength(3);

  const back: Message[] = [];
  const redriveSub = pubsub.subscription('flaky-redrive');
  redriveSub.on('message', (m: Message) => {
    back.push(m);
    m.ack();
  });
  try {
    // One event by id, then what failed for a reason that has gone: the poison stays.
    const first = await auditedRedrive(pubsub, audit, { consumer, ...who, select: { eventIds: [exhausted[1]] }, idleMs: 1500 });
    expect(first.redriven.map((m) => m.eventId)).toEqual([exhausted[1]]);
    const second = await auditedRedrive(pubsub, audit, { consumer, ...who, select: { reasons: ['max-delivery-attempts'] }, idleMs: 1500 });
    expect(second.redriven.map((m) => m.eventId)).toEqual([exhausted[0]]);
    await eventually(() => (back.length >= 2 ? true : undefined), 20000, 'both redriven to flaky-redrive');
    expect(back.map((m) => m.attributes['ce-id']).sort()).toEqual([...exhausted].sort());
    expect((await held()).map((h) => [h.eventId, h.reason])).toEqual([[poison.event.id, 'schema']]);

    const steps = await audit.latest({ consumer: 'flaky' });
    const byOperation = (id: string) =>
      steps
        .filter((s) => s.operationId === id)
        .map((s) => s.state)
        .sort();
    expect(byOperation(first.operationId)).toEqual(['completed', 'started']);
    expect(byOperation(second.operationId)).toEqual(['completed', 'started']);
    const done = steps.find((s) => s.operationId === second.operationId && s.state === 'completed')!;
    expect(done).toMatchObject({
      operation: 'redrive',
      consumer: 'flaky',
      owner: 'orders-oncall',
      intent: 'the worker was down 04:10-04:20',
      operator: 'ana@test',
      selection: { reasons: ['max-delivery-attempts'], max: 100 },
      affected: 1,
      affectedEvents: [exhausted[0]],
    });

    // The redrive topic is gone (a half-torn-down stack): the publish fails, the failure is
    // recorded with its error, and the poison is still held.
    await pubsub.topic('flaky-redrive').delete();
    await expect(auditedRedrive(pubsub, audit, { consumer, ...who, idleMs: 1500 })).rejects.toThrow();
    const failed = (await audit.latest()).find((s) => s.state === 'failed');
    expect(failed).toMatchObject({ operation: 'redrive', consumer: 'flaky', owner: 'orders-oncall' });
    expect(failed!.detail).toMatch(/not.?found/i);
    expect((await held()).map((h) => h.eventId)).toEqual([poison.event.id]);
  } finally {
    await redriveSub.close();
  }
}, 120000);
