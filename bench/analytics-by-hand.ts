/**
 * The processor analytics path's Firestore writes done by hand, with no consumer runtime and no
 * ProcessorStore around them: per event, one batch that creates the dedup record (server-time
 * `processedAt`, `expiresAt`), merges the user's counters (`total`, `counts.<type>`, server-time
 * `updatedAt`) and, for a like, increments its shard. The same documents, fields and transforms
 * services/processor/store.ts commits, so against it the processor bench tells our code's cost on
 * the analytics path from the emulator's cost of those writes (as bench/orders-by-hand.ts does for
 * orders).
 */
import { FieldValue, Timestamp, type Firestore } from '@google-cloud/firestore';
import type { IncomingMessage } from '../shared/envelope';
import { DEDUP_TTL_MS, EXPIRY_FIELD, firestorePaths } from '../shared/firestore';
import { activityField, likeDelta, likeShard } from '../services/processor/analytics';

/** A writer of one analytics message's effects, as the processor commits them. */
export function analyticsByHand(firestore: Firestore, consumer: string): (message: IncomingMessage) => Promise<void> {
  return async (message) => {
    const id = message.attributes['ce-id'];
    const type = message.attributes['ce-type'];
    const data = JSON.parse(message.data.toString('utf8')) as { userId: string; postId: string };
    const batch = firestore.batch();
    batch.create(firestore.doc(firestorePaths.dedup(consumer, id)), {
      consumer,
      eventId: id,
      type,
      messageId: message.messageId,
      processedAt: FieldValue.serverTimestamp(),
      [EXPIRY_FIELD]: Timestamp.fromMillis(Date.now() + DEDUP_TTL_MS),
    });
    batch.set(
      firestore.doc(firestorePaths.user(data.userId)),
      {
        userId: data.userId,
        total: FieldValue.increment(1),
        counts: { [activityField(type)]: FieldValue.increment(1) },
        updatedAt: FieldValue.serverTimestamp(),
      },
      { merge: true },
    );
    const delta = likeDelta(type);
    if (delta) batch.set(firestore.doc(firestorePaths.likeShard(data.postId, likeShard(id))), { count: FieldValue.increment(delta) }, { merge: true });
    await batch.commit();
  };
}
