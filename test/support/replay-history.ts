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

export interface History {
  topic: string;
  count: number;
  /** Publish time of the first, ms; each next one 1 ms later. */
  from: number;
  /** The i-th event (its ordering key, if the topic has one, comes from its data). */
  event: (i: number) => { type: string; data: Record<string, unknown> };
}

/** Stores `count` events in the topic's events table, as the warehouse service does, in inserts of 1,000 rows. */
export async function storeHistory(bigquery: BigQuery, spec: MeshSpec, publisher: MeshPublisher, history: History): Promise<void> {
  const table = bigquery.dataset(spec.warehouse.dataset).table(eventsTableName(history.topic));
  for (let i = 0; i < history.count; i += 1000) {
    const rows: InsertRow[] = [];
    for (let j = i; j < Math.min(history.count, i + 1000); j++) {
      const { type, data } = history.event(j);
      const { event, orderingKey } = publisher.prepare(history.topic, type, data);
      const attributes = toPubsubMessage(event, orderingKey).attributes;
      rows.push(eventRow(spec.topics[history.topic], { event, messageId: String(j + 1), publishTime: new Date(history.from + j), orderingKey, attributes }));
    }
    await table.insert(rows, { raw: true });
  }
}

/** `count` order.created events of orders `${prefix}${i % keys}` (default: one order each). */
export function storeOrdersHistory(
  bigquery: BigQuery,
  spec: MeshSpec,
  publisher: MeshPublisher,
  o: { count: number; from: number; prefix: string; keys?: number },
): Promise<void> {
  return storeHistory(bigquery, spec, publisher, {
    topic: 'orders',
    count: o.count,
    from: o.from,
    event: (i) => ({ type: 'order.created', data: { orderId: `${o.prefix}${i % (o.keys ?? o.count)}`, customerId: 'c', sequence: 1 } }),
  });
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
