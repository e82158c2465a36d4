/**
 * The naive dashboard consumer issue 24 measures the real one against: the raw client and one
 * Firestore transaction per event (read the event's dedup document and its
 * minute window, bump the count, write both), acked after the commit. Every event of a minute
 * contends on one window document, which is why the real aggregator batches.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { fromPubsubMessage } from '../shared/envelope';

/**
 * Transactions on one document run one at a time, and more of them in flight only abort and retry
 * each other: on the Firestore emulator this shape of transaction ran 8.1/s with 1 in flight,
 * 8.7/s with 2, 5.4/s with 4, and 8 in flight took 330 s for 100 events. The naive consumer gets
 * the in-flight count that suits it best.
 */
const NAIVE_IN_FLIGHT = 2;

export interface NaiveConsumer {
  /** Events committed and acked so far. */
  count(): number;
  stop(): Promise<void>;
}

export function startNaiveTransactionConsumer(pubsub: PubSub, firestore: Firestore, subscription: string, collection: string): NaiveConsumer {
  let done = 0;
  const sub = pubsub.subscription(subscription, { flowControl: { maxMessages: NAIVE_IN_FLIGHT, allowExcessMessages: false } });
  sub.on('message', (message) => {
    const event = fromPubsubMessage(message);
    const minute = new Date(Math.floor(Date.parse(event.time) / 60_000) * 60_000).toISOString();
    const seen = firestore.doc(`${collection}-dedup/${event.id}`);
    const window = firestore.doc(`${collection}-windows/${minute}`);
    firestore
      .runTransaction(async (tx) => {
        const [dedup, counts] = await Promise.all([tx.get(seen), tx.get(window)]);
        if (dedup.exists) return;
        tx.create(seen, { at: new Date() });
        tx.set(window, { count: ((counts.get('count') as number | undefined) ?? 0) + 1 }, { merge: true });
      })
      .then(
        () => {
          message.ack();
          done++;
        },
        () => message.nack(),
      );
  });
  sub.on('error', () => undefined);
  return { count: () => done, stop: () => sub.close() };
}
