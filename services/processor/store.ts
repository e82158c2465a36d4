/**
 * Firestore writes of the processor. Each event's effect and its dedup record are written in ONE
 * atomic commit, so an effect exists if and only if its dedup record does:
 *
 * - orders (the projection depends on its current state): one batch that creates the dedup record
 *   and writes the projection under an update-time precondition (optimistic concurrency, see
 *   applyOrderEvent), or optionally a transaction; the events of different orders in flight at
 *   once share one commit (order-commits.ts), each with its own preconditions;
 * - analytics (blind increments): one batch with `create()` of the dedup record, so a seen event
 *   fails the whole batch with ALREADY_EXISTS and changes nothing; the events in flight at once
 *   share one such batch (analytics-commits.ts).
 *
 * Dedup records carry `expiresAt` (now + 7 days); infra sets a TTL policy on collection group
 * `dedup`, field `expiresAt`. A republish more than 7 days later would apply again. Paths, names and
 * the document-id rule are the mesh's Firestore contract (shared/firestore).
 *
 * An order event with an anomaly also writes its entry in the topic's anomaly log
 * (shared/firestore/anomalies.ts) in that same commit: counted once per event, whatever the redeliveries.
 */
import { isDeepStrictEqual } from 'node:util';
import { FieldValue, Firestore, Timestamp, type DocumentReference } from '@google-cloud/firestore';
import { sinkFailure, type DecodedEvent, type HandlerResult } from '../../shared/consumer';
import { anomalyWrite, DEDUP_TTL_MS, EXPIRY_FIELD, firestorePaths } from '../../shared/firestore';
import { REPLAY_ID_ATTRIBUTE } from '../../shared/replay/attribute';
import { AnalyticsCommits, type AnalyticsCommitOptions } from './analytics-commits';
import { anomalyRecord } from './anomalies';
import { checkAnalyticsEvent } from './event-checks';
import { activityField, likeDelta, likeShard, LIKE_SHARDS, type AnalyticsEventData } from './analytics';
import { OrderCommits, type OrderCommitOptions } from './order-commits';
import { applyOrderEvent, type OrderAnomaly, type OrderEventData, type OrderProjection } from './orders';

export interface StoreResult {
  result: HandlerResult;
  anomaly?: OrderAnomaly;
}

export interface ProcessorStoreOptions {
  /** Clock for expiresAt; tests may fix it. */
  now?: () => number;
  /** How order events are committed (see applyOrderEvent). Default 'optimistic'. */
  orderWrites?: 'optimistic' | 'transaction';
  /** Order projections cached for the optimistic path. Default 5000. */
  cacheSize?: number;
  /** How analytics events are grouped into commits (analytics-commits.ts). */
  analyticsCommits?: AnalyticsCommitOptions;
  /** How order events are grouped into commits on the optimistic path (order-commits.ts). */
  orderCommits?: OrderCommitOptions;
}

interface CachedOrder {
  projection: OrderProjection | undefined;
  updateTime?: Timestamp;
}

/** ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED, NOT_FOUND: someone else wrote first; read again. */
const CONFLICT_CODES = new Set([6, 9, 10, 5]);
const MAX_OPTIMISTIC_ATTEMPTS = 5;

export class ProcessorStore {
  private readonly now: () => number;
  private readonly orderWrites: 'optimistic' | 'transaction';
  private readonly cacheSize: number;
  /** orderId -> projection and its update time, most recently used last. */
  private readonly cache = new Map<string, CachedOrder>();
  /** Groups analytics events in flight into one commit; its stats are at /stats (sections.analyticsCommits). */
  readonly analyticsCommits: AnalyticsCommits;
  /** Groups order events in flight into one commit; its stats are at /stats (sections.orderCommits). */
  readonly orderCommits: OrderCommits;

  constructor(
    readonly db: Firestore,
    options: ProcessorStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.orderWrites = options.orderWrites ?? 'optimistic';
    this.cacheSize = options.cacheSize ?? 5000;
    this.analyticsCommits = new AnalyticsCommits(db, options.analyticsCommits);
    this.orderCommits = new OrderCommits(db, options.orderCommits);
  }

  dedupRef(consumer: string, eventId: string): DocumentReference {
    return this.db.doc(firestorePaths.dedup(consumer, eventId));
  }

  orderRef(orderId: string): DocumentReference {
    return this.db.doc(firestorePaths.order(orderId));
  }

  anomalyRef(orderId: string, eventId: string): DocumentReference {
    return this.db.doc(firestorePaths.anomaly(orderId, eventId));
  }

  /**
   * Order projection + anomaly (its record and log entry) + dedup record in one atomic commit.
   * `topic` is the consumer's: anomalies are counted per topic.
   *
   * Default ('optimistic'): one batch with `create()` of the dedup record and the projection
   * written with a precondition on the update time it was read at (or `create()` when new). The
   * projection is cached per order (ordering keys send one order's events to one subscriber, one at
   * a time), and order.created is first tried as a create() without a read, so the steady state is
   * one commit per event. Any
   * precondition failure (a seen event, another instance wrote the order) evicts the cache, reads
   * again and retries; a seen event then reads as 'duplicate'.
   *
   * 'transaction': a Firestore transaction reading both documents; simpler, two round trips.
   *
   * The Firestore emulator does not hold an update-time precondition against a racing commit (GCP
   * does; test/system/firestore-preconditions.test.ts): locally, only one writer per order at a time
   * keeps this exact, which the per-key queue gives within a service.
   */
  async applyOrderEvent(consumer: string, decoded: DecodedEvent<OrderEventData>, topic: string): Promise<StoreResult> {
    if (this.orderWrites === 'transaction') return this.applyOrderEventInTransaction(consumer, decoded, topic);
    const { event } = decoded;
    const orderId = event.data.orderId;
    const dedupRef = this.dedupRef(consumer, event.id);
    const orderRef = this.orderRef(orderId);
    for (let attempt = 1; ; attempt++) {
      let base = this.cache.get(orderId);
      // order.created is almost always for a new order: try the create() without reading first. If the
      // order or the dedup record exists, the commit fails with ALREADY_EXISTS and the retry reads.
      if (!base && attempt === 1 && event.type === 'order.created') base = { projection: undefined };
      try {
        if (!base) {
          const [dedup, order] = await this.db.getAll(dedupRef, orderRef);
          if (dedup.exists) return { result: 'duplicate' };
          base = order.exists ? { projection: order.data() as OrderProjection, updateTime: order.updateTime! } : { projection: undefined };
        }
        const step = applyOrderEvent(base.projection, event);
        const dedupRecord = this.dedupRecord(consumer, decoded);
        const projectionBase = base;
        // With the other order events in flight, in one commit (order-commits.ts); results are this event's own.
        const results = await this.orderCommits.commit({
          dedupRef,
          write: (batch) => {
            batch.create(dedupRef, dedupRecord);
            let writes = 1;
            if (step.changed && step.projection) {
              const marked = replayMark(decoded);
              if (projectionBase.updateTime)
                batch.update(
                  orderRef,
                  { ...changedFields(projectionBase.projection, step.projection), ...marked },
                  { lastUpdateTime: projectionBase.updateTime },
                );
              else batch.create(orderRef, { ...step.projection, ...marked });
              writes++;
            } else if (!projectionBase.projection) {
              // Asserts the order is still absent: the anomaly ("never created") depends on it.
              batch.delete(orderRef, { exists: false });
              writes++;
            }
            // After the projection's write: results[1] below is its write time.
            if (step.anomaly) {
              batch.set(this.anomalyRef(orderId, event.id), { ...step.anomaly, detectedAt: FieldValue.serverTimestamp() });
              const entry = this.anomalyEntry(step.anomaly, topic, consumer);
              batch.set(entry.ref, entry.data);
              writes += 2;
            }
            return writes;
          },
        });
        if (step.changed && step.projection) this.remember(orderId, { projection: step.projection, updateTime: results[1].writeTime });
        else this.cache.delete(orderId);
        return { result: 'done', anomaly: step.anomaly };
      } catch (error) {
        this.cache.delete(orderId);
        const code = (error as { code?: number }).code;
        if (attempt < MAX_OPTIMISTIC_ATTEMPTS && code !== undefined && CONFLICT_CODES.has(code)) continue;
        throw sinkFailure(error, `Firestore write of order event ${event.id} failed`);
      }
    }
  }

  private async applyOrderEventInTransaction(consumer: string, decoded: DecodedEvent<OrderEventData>, topic: string): Promise<StoreResult> {
    const { event } = decoded;
    const dedupRef = this.dedupRef(consumer, event.id);
    const orderRef = this.orderRef(event.data.orderId);
    try {
      return await this.db.runTransaction(async (tx) => {
        const [dedup, order] = await tx.getAll(dedupRef, orderRef);
        if (dedup.exists) return { result: 'duplicate' };
        const step = applyOrderEvent(order.exists ? (order.data() as OrderProjection) : undefined, event);
        if (step.changed && step.projection) tx.set(orderRef, { ...step.projection, ...replayMark(decoded) });
        if (step.anomaly) {
          tx.set(this.anomalyRef(event.data.orderId, event.id), { ...step.anomaly, detectedAt: FieldValue.serverTimestamp() });
          const entry = this.anomalyEntry(step.anomaly, topic, consumer);
          tx.set(entry.ref, entry.data);
        }
        tx.create(dedupRef, this.dedupRecord(consumer, decoded));
        return { result: 'done', anomaly: step.anomaly };
      });
    } catch (error) {
      throw sinkFailure(error, `Firestore write of order event ${event.id} failed`);
    }
  }

  /** The anomaly's log entry (shared/firestore/anomalies.ts), as a reference and its data. */
  private anomalyEntry(anomaly: OrderAnomaly, topic: string, consumer: string) {
    const write = anomalyWrite(anomalyRecord(anomaly, topic, consumer, this.now()), { timestamp: (ms) => Timestamp.fromMillis(ms) });
    return { ref: this.db.doc(write.path), data: write.data };
  }

  private remember(orderId: string, entry: CachedOrder): void {
    this.cache.delete(orderId);
    this.cache.set(orderId, entry);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  /**
   * User activity counts (+ a like shard) and the dedup record, committed with a create()
   * precondition on the dedup record, together with the other analytics events in flight
   * (analytics-commits.ts: one commit per group, each event applied exactly once).
   */
  async applyAnalyticsEvent(consumer: string, decoded: DecodedEvent<AnalyticsEventData>): Promise<StoreResult> {
    const { event } = decoded;
    const delta = likeDelta(event.type);
    if (delta) checkAnalyticsEvent(decoded);
    const userId = event.data.userId;
    const replayId = decoded.attributes?.[REPLAY_ID_ATTRIBUTE];
    const result = await this.analyticsCommits.apply({
      eventId: event.id,
      dedupRef: this.dedupRef(consumer, event.id),
      dedupRecord: this.dedupRecord(consumer, decoded),
      userRef: this.db.doc(firestorePaths.user(userId)),
      userId,
      activityField: activityField(event.type),
      ...(replayId ? { replayId } : {}),
      ...(delta ? { like: { ref: this.db.doc(firestorePaths.likeShard(event.data.postId, likeShard(event.id))), delta } } : {}),
    });
    return { result };
  }

  private dedupRecord(consumer: string, decoded: DecodedEvent<unknown>): Record<string, unknown> {
    return {
      consumer,
      eventId: decoded.event.id,
      type: decoded.event.type,
      messageId: decoded.messageId,
      // Which delivery applied it (Pub/Sub counts them when the subscription has a dead-letter policy):
      // above 1, an earlier delivery was sent back or lost its ack.
      ...(decoded.deliveryAttempt ? { deliveryAttempt: decoded.deliveryAttempt } : {}),
      ...(decoded.attributes?.[REPLAY_ID_ATTRIBUTE] ? { replayId: decoded.attributes[REPLAY_ID_ATTRIBUTE] } : {}),
      processedAt: FieldValue.serverTimestamp(),
      [EXPIRY_FIELD]: Timestamp.fromMillis(this.now() + DEDUP_TTL_MS),
    };
  }

  // Reads (pages, tests, tools).

  async readOrder(orderId: string): Promise<OrderProjection | undefined> {
    const snap = await this.orderRef(orderId).get();
    return snap.exists ? (snap.data() as OrderProjection) : undefined;
  }

  async readAnomalies(orderId: string): Promise<OrderAnomaly[]> {
    const snap = await this.db.collection(firestorePaths.anomalies(orderId)).get();
    return snap.docs.map((d) => d.data() as OrderAnomaly);
  }

  /** A post's likes: the sum of its shards. */
  async readLikeCount(postId: string): Promise<number> {
    const snap = await this.db.collection(firestorePaths.likeShards(postId)).get();
    let total = 0;
    for (const doc of snap.docs) total += Number(doc.get('count') ?? 0);
    return total;
  }

  async readUserActivity(userId: string): Promise<{ total: number; counts: Record<string, number> } | undefined> {
    const snap = await this.db.doc(firestorePaths.user(userId)).get();
    if (!snap.exists) return undefined;
    return { total: Number(snap.get('total') ?? 0), counts: (snap.get('counts') as Record<string, number>) ?? {} };
  }
}

export { LIKE_SHARDS };

/**
 * The fields of `next` that differ from `base`. Under the update-time precondition the stored
 * document is `base`, so writing only these gives `next`; it costs Firestore less per event (an
 * order's step changes ~6 of its 17 fields: the emulator took 4-6 % more order events a second, same run).
 */
export function changedFields(base: object | undefined, next: object): Record<string, unknown> {
  const before = (base ?? {}) as Record<string, unknown>;
  const changed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(next)) if (!isDeepStrictEqual(before[field], value)) changed[field] = value;
  // update() needs a field; an unchanged projection is rewritten whole (still under the precondition).
  return Object.keys(changed).length ? changed : { ...next };
}

/**
 * What a replayed event's effect records: the last replay that touched the document (mesh replay
 * puts its id on every message it sends). Real-time events leave the field as it was.
 */
function replayMark(decoded: DecodedEvent<unknown>): { lastReplayId?: string } {
  const replayId = decoded.attributes?.[REPLAY_ID_ATTRIBUTE];
  return replayId ? { lastReplayId: replayId } : {};
}
