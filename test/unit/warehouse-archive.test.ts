/**
 * The local drain of BigQuery-kind consumers (services/warehouse/archive.ts) runs on the runtime's
 * pipeline with a raw handler: messages are archived as received (even what the decoder calls
 * poison), and errors are classified, dead-lettered and counted as for every other consumer.
 */
import { Writable } from 'node:stream';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger, PoisonError, ServiceStats, TransientError, type DeadLetterInfo, type DeadLetterSink } from '../../shared/consumer';
import type { IncomingMessage } from '../../shared/envelope';
import type { InsertRow } from '../../shared/warehouse';
import { ArchiveDrain } from '../../services/warehouse/archive';
import type { WarehouseLoader } from '../../services/warehouse/loader';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const consumer = spec.consumers['archive-orders'];

class MemorySink implements DeadLetterSink {
  published: { message: IncomingMessage; info: DeadLetterInfo }[] = [];
  async publish(message: IncomingMessage, info: DeadLetterInfo) {
    this.published.push({ message, info });
    return `dl-${this.published.length}`;
  }
  async flush() {}
}

function setup(loadRow: (table: string, row: InsertRow) => Promise<unknown>) {
  const log = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const sink = new MemorySink();
  const stats = new ServiceStats('warehouse', [consumer.name]);
  const loader = { loadRow } as unknown as WarehouseLoader;
  const drain = new ArchiveDrain({ spec, pubsub: {} as PubSub, loader, log, deadLetter: () => sink, stats });
  return { pipeline: drain.pipelines[consumer.name], sink, stats };
}

const raw = (deliveryAttempt = 1): IncomingMessage => ({
  data: Buffer.from('not even json'),
  attributes: { 'ce-id': 'e1' },
  messageId: 'm1',
  publishTime: new Date(0),
  deliveryAttempt,
});

it('archives the message as received, with the subscription it came from', async () => {
  const rows: [string, InsertRow][] = [];
  const { pipeline, stats } = setup(async (table, row) => rows.push([table, row]));
  expect(await pipeline(raw(), 'projects/p/subscriptions/archive-orders')).toBe('done');
  expect(rows).toEqual([
    [
      consumer.table,
      {
        insertId: 'm1@1970-01-01T00:00:00.000Z',
        json: expect.objectContaining({ subscription_name: 'projects/p/subscriptions/archive-orders', message_id: 'm1', data: 'not even json' }),
      },
    ],
  ]);
  expect(stats.of(consumer.name)).toMatchObject({ received: 1, done: 1 });
  expect(stats.acksOf(consumer.name).after(0).ids).toEqual(['m1']);
});

it('dead-letters a row BigQuery refuses at once, with the reason', async () => {
  const { pipeline, sink, stats } = setup(async () => {
    throw new PoisonError('BigQuery refused the row', 'insert');
  });
  expect(await pipeline(raw(), 's')).toBe('dead-lettered');
  expect(sink.published[0].info).toMatchObject({ reason: 'insert', consumer: consumer.name, sourceSubscription: 's' });
  expect(stats.of(consumer.name)).toMatchObject({ deadLettered: 1 });
});

it('retries a transient failure, and dead-letters it on the last delivery attempt (max-attempts)', async () => {
  const { pipeline, sink, stats } = setup(async () => {
    throw new TransientError('insertAll failed');
  });
  expect(await pipeline(raw(1), 's')).toBe('retry');
  expect(sink.published).toEqual([]);
  expect(await pipeline(raw(consumer.deadLetter.maxAttempts), 's')).toBe('dead-lettered');
  expect(sink.published[0].info).toMatchObject({ reason: 'max-attempts', error: 'insertAll failed' });
  expect(stats.of(consumer.name)).toMatchObject({ received: 2, failed: 2, deadLettered: 1 });
});
