/**
 * The Firestore sinks as parity reads them, through the services' own layouts: the dashboard's
 * windows (its reader, so parity sees what the page shows), the processor's projections, like
 * counters and activity, and each consumer's dedup records (the per-event ledger of what it applied).
 */
import type { DocumentReference, DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import { firestorePaths } from '../../shared/firestore';
import { DashboardReader, type WindowAggregate } from '../../services/dashboard/reader';
import type { Granularity } from '../../services/dashboard/windows';
import type { OrderProjection } from '../../services/processor/orders';
import { ProcessorStore } from '../../services/processor/store';

/** Firestore's getAll takes any number of references; a few hundred per call keeps each response small. */
const GET_ALL_CHUNK = 300;
/** Parallel reads of like counters (one query each). */
const READ_CONCURRENCY = 16;

export async function getAllChunked(db: Firestore, refs: DocumentReference[]): Promise<DocumentSnapshot[]> {
  const out: DocumentSnapshot[] = [];
  for (let i = 0; i < refs.length; i += GET_ALL_CHUNK) out.push(...(await db.getAll(...refs.slice(i, i + GET_ALL_CHUNK))));
  return out;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class FirestoreSinks {
  private readonly reader: DashboardReader;
  private readonly store: ProcessorStore;

  constructor(readonly db: Firestore) {
    this.reader = new DashboardReader(db);
    this.store = new ProcessorStore(db);
  }

  /** The dashboard's windows starting in [fromMs, untilMs), by window start (ms). */
  async dashboardWindows(granularity: Granularity, fromMs: number, untilMs: number): Promise<Map<number, WindowAggregate>> {
    const windows = await this.reader.windows(granularity, fromMs);
    return new Map(windows.map((w) => [Date.parse(w.start), w] as const).filter(([start]) => start < untilMs));
  }

  /** Which of `eventIds` consumer `consumer` has a dedup record for (it applied them). */
  async applied(consumer: string, eventIds: string[]): Promise<Set<string>> {
    const snaps = await getAllChunked(
      this.db,
      eventIds.map((id) => this.db.doc(firestorePaths.dedup(consumer, id))),
    );
    return new Set(eventIds.filter((_, i) => snaps[i].exists));
  }

  async orders(orderIds: string[]): Promise<Map<string, OrderProjection>> {
    const snaps = await getAllChunked(
      this.db,
      orderIds.map((id) => this.store.orderRef(id)),
    );
    const out = new Map<string, OrderProjection>();
    snaps.forEach((snap, i) => snap.exists && out.set(orderIds[i], snap.data() as OrderProjection));
    return out;
  }

  async likeCounts(postIds: string[]): Promise<Map<string, number>> {
    const counts = await mapLimited(postIds, READ_CONCURRENCY, (id) => this.store.readLikeCount(id));
    return new Map(postIds.map((id, i) => [id, counts[i]]));
  }

  /** users/<id>.counts (activity per event type field) for each user; absent users are empty. */
  async activity(userIds: string[]): Promise<Map<string, Record<string, number>>> {
    const snaps = await getAllChunked(
      this.db,
      userIds.map((id) => this.db.doc(firestorePaths.user(id))),
    );
    return new Map(userIds.map((id, i) => [id, ((snaps[i].exists ? snaps[i].get('counts') : undefined) ?? {}) as Record<string, number>]));
  }
}
