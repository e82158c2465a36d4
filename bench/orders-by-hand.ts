/**
 * The processor orders path's Firestore writes done by hand, with no consumer runtime and no
 * ProcessorStore around them: per event, one batch that creates the dedup record and creates the
 * order's projection (its first step) or updates the fields that changed under the update time of
 * the lane's last write (later steps). The same documents, fields, transforms and preconditions
 * services/processor/store.ts commits, so against it the consumer bench tells our code's cost on the
 * orders path from the emulator's cost of those writes.
 */
import { FieldValue, Timestamp, type Firestore } from '@google-cloud/firestore';
import type { IncomingMessage } from '../shared/envelope';
import { DEDUP_TTL_MS, EXPIRY_FIELD, firestorePaths } from '../shared/firestore';
import { applyOrderEvent, type OrderEventInput, type OrderProjection } from '../services/processor/orders';
import { changedFields } from '../services/processor/store';

/** One lane's writer: its messages are one order's steps after another, in sequence. */
export function ordersByHandLane(firestore: Firestore, consumer: string): (message: IncomingMessage) => Promise<void> {
  let projection: OrderProjection | undefined;
  let updateTime: Timestamp | undefined;
  return async (message) => {
    const event: OrderEventInput = {
      id: message.attributes['ce-id'],
      type: message.attributes['ce-type'],
      time: message.attributes['ce-time'],
      data: JSON.parse(message.data.toString('utf8')),
    };
    if (event.type === 'order.created') [projection, updateTime] = [undefined, undefined];
    const next = applyOrderEvent(projection, event).projection!;
    const batch = firestore.batch();
    batch.create(firestore.doc(firestorePaths.dedup(consumer, event.id)), {
      consumer,
      eventId: event.id,
      type: event.type,
      messageId: message.messageId,
      processedAt: FieldValue.serverTimestamp(),
      [EXPIRY_FIELD]: Timestamp.fromMillis(Date.now() + DEDUP_TTL_MS),
    });
    const order = firestore.doc(firestorePaths.order(event.data.orderId));
    if (updateTime) batch.update(order, changedFields(projection, next), { lastUpdateTime: updateTime });
    else batch.create(order, next);
    const results = await batch.commit();
    [projection, updateTime] = [next, results[1].writeTime];
  };
}
