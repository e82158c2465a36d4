/**
 * Where the fraud scorer keeps each user's risk: `fraudRisk/<userId>`, updated with the consumer's
 * dedup record (shared/firestore's path and TTL) in one Firestore transaction, so an event counts
 * once whatever the redeliveries.
 */
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { DecodedEvent, HandlerResult } from '../../shared/consumer';
import { DEDUP_TTL_MS, docId, EXPIRY_FIELD, firestorePaths } from '../../shared/firestore';
import { applyPayment, emptyRisk, type PaymentEventData, type UserRisk } from './scoring';

export const RISK_COLLECTION = 'fraudRisk';
export const riskPath = (userId: string) => `${RISK_COLLECTION}/${docId(userId, 'userId')}`;

export class RiskStore {
  constructor(readonly db: Firestore) {}

  async apply(consumer: string, decoded: DecodedEvent<PaymentEventData>): Promise<HandlerResult> {
    const { event } = decoded;
    const dedupRef = this.db.doc(firestorePaths.dedup(consumer, event.id));
    const riskRef = this.db.doc(riskPath(event.data.userId));
    return this.db.runTransaction(async (tx) => {
      const [dedup, risk] = await tx.getAll(dedupRef, riskRef);
      if (dedup.exists) return 'duplicate' as const;
      const before = risk.exists ? (risk.data() as UserRisk) : emptyRisk(event.data.userId);
      tx.set(riskRef, applyPayment(before, event.type, event.data, event.id, Date.parse(event.time)));
      tx.create(dedupRef, { eventId: event.id, [EXPIRY_FIELD]: Timestamp.fromMillis(Date.now() + DEDUP_TTL_MS) });
      return 'done' as const;
    });
  }

  async risk(userId: string): Promise<UserRisk | undefined> {
    return (await this.db.doc(riskPath(userId)).get()).data() as UserRisk | undefined;
  }
}
