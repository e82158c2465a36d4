/**
 * What the replay tests and benches share: a warehouse history of orders to replay, stored as the
 * warehouse service stores events, and a handler decorator that records, per handled event, whether
 * a replay sent it and how long it took from publish to handled (the emulator keeps no lag metric).
 */
import type { BigQuery } from '@google-cloud/bigquery';
import type { DecodedEvent, Handlers } from '../../shared/consumer';
import { toPubsubMessage } from '../../shared/envelope';
import type { MeshPublisher } from '../../shared/publisher';
import { REPLAY_ID_ATTRIBUTE } from '../../shared/replay';
import type { MeshSpec } from '../../shared/spec';
import { eventRow, eventsTableName, type InsertRow } from '../../shared/warehouse';

export interface OrdersHistory {
  count: number;
  /** Publish time of the first, ms; each next one 1 ms later. */
  from: number;
  /** Order ids `${prefix}${i % keys}`. */
  prefix: string;
  /** Distinct orders (ordering keys); default one per event. */
  keys?: number;
}

/** Stores `count` order.created events in the orders events table, in inserts of 1,000 rows. */
export async function storeOrdersHistory(bigquery: BigQuery, spec: MeshSpec, publisher: MeshPublisher, history: OrdersHistory): Promise<void> {
  const table = bigquery.dataset(spec.warehouse.dataset).table(eventsTableName('orders'));
  for (let i = 0; i < history.count; i += 1000) {
    const rows: InsertRow[] = [];
    for (let j = i; j < Math.min(history.count, i + 1000); j++) {
      const orderId = `${history.prefix}${j % (history.keys ?? history.count)}`;
      const { event, orderingKey } = publisher.prepare('orders', 'order.created', { orderId, customerId: 'c', sequence: 1 });
      const attributes = toPubsubMessage(event, orderingKey).attributes;
      rows.push(eventRow(spec.topics.orders, { event, messageId: String(j + 1), publishTime: new Date(history.from + j), orderingKey, attributes }));
    }
    await table.insert(rows, { raw: true });
  }
}

export interface HandledEvent {
  replayed: boolean;
  lagSeconds: number;
  eventId: string;
}

/** Wraps every handler to push what it handled into `handled`. */
export const recordHandled =
  (handled: HandledEvent[]) =>
  (handlers: Handlers): Handlers =>
    Object.fromEntries(
      Object.entries(handlers).map(([name, handler]) => [
        name,
        async (decoded: DecodedEvent, ctx: Parameters<typeof handler>[1]) => {
          const result = await handler(decoded, ctx);
          handled.push({
            replayed: Boolean(decoded.attributes[REPLAY_ID_ATTRIBUTE]),
            lagSeconds: (Date.now() - (decoded.publishTime?.getTime() ?? Date.now())) / 1000,
            eventId: decoded.event.id,
          });
          return result;
        },
      ]),
    );
