/**
 * `--rebuild`: for a projection that is wrong, not missing. Plain replay relies on the consumer's
 * dedup, so events it applied once are dropped and a wrong projection stays wrong. A rebuild first
 * clears, for the keys in scope, the projections and the dedup records of their events, then
 * replays: the projection is made again from the events, as the state machine gives it.
 *
 * It needs projections keyed by the ordering key, so that clearing a key clears everything its
 * events made: the processor's order projections (`orders/<orderId>`, their anomalies and those
 * anomalies' log entries, so the counts say what the rebuilt projection finds) on an ordered topic. Counters that sum over many keys (user activity, dashboard windows) cannot be cleared per
 * key, so other consumers are refused. A key's whole history must be in scope, or clearing it would
 * lose what the events outside the range made: the plan checks that with the warehouse.
 */
import type { Firestore } from '@google-cloud/firestore';
import { UserError } from '../errors';
import { ANOMALY_COLLECTIONS } from '../firestore/anomalies';
import { firestorePaths } from '../firestore/layout';
import { existingDedupRecords } from './applied';
import { recordOf, type ReplayAudit } from './audit';
import type { ReplayRequest } from './request';
import type { WarehouseReplaySource } from './source';

/** Firestore allows 500 writes per batch. */
const BATCH_WRITES = 500;

export interface RebuildCleared {
  projections: number;
  anomalies: number;
  dedupRecords: number;
}

/** Deletes the keys' projections and anomalies (records and log entries), and the consumer's dedup records of `eventIds`. */
export async function clearForRebuild(firestore: Firestore, consumer: string, keys: string[], eventIds: string[]): Promise<RebuildCleared> {
  const refs = [];
  const cleared: RebuildCleared = { projections: 0, anomalies: 0, dedupRecords: 0 };
  for (const key of keys) {
    const order = firestore.doc(firestorePaths.order(key));
    if ((await order.get()).exists) cleared.projections++;
    refs.push(order);
    const anomalies = await firestore.collection(firestorePaths.anomalies(key)).listDocuments();
    cleared.anomalies += anomalies.length;
    // An order's anomaly and its log entry share the event's document id.
    refs.push(...anomalies, ...anomalies.map((a) => firestore.collection(ANOMALY_COLLECTIONS.log).doc(a.id)));
  }
  const dedup = await existingDedupRecords(firestore, consumer, eventIds);
  cleared.dedupRecords = dedup.length;
  refs.push(...dedup.map((d) => d.ref));
  for (let i = 0; i < refs.length; i += BATCH_WRITES) {
    const batch = firestore.batch();
    for (const ref of refs.slice(i, i + BATCH_WRITES)) batch.delete(ref);
    await batch.commit();
  }
  return cleared;
}

/**
 * The rebuild's first step: clears the scope's keys and records it (state `cleared`). Refused when
 * the warehouse holds events of those keys outside the scope.
 */
export async function clearScope(options: {
  firestore: Firestore;
  source: WarehouseReplaySource;
  audit: ReplayAudit;
  request: ReplayRequest;
  inScope: number;
}): Promise<RebuildCleared> {
  const { firestore, source, audit, request } = options;
  const outside = await source.outsideScope(request.scope);
  if (outside)
    throw new UserError(`${outside} event(s) of these keys lie outside the range: a rebuild must replay each key's whole history`, {
      where: '--from/--to',
      hint: 'widen --from and --to to cover every event of the keys',
    });
  const keys = await source.keys(request.scope);
  const { eventIds = [] } = await source.summary(request.scope, { eventIds: true });
  const cleared = await clearForRebuild(firestore, request.consumer, keys, eventIds);
  await audit.record(
    recordOf(request, 'cleared', {
      inScope: options.inScope,
      sent: 0,
      elapsedSeconds: 0,
      detail: `rebuild cleared ${cleared.projections} projections, ${cleared.anomalies} anomalies and ${cleared.dedupRecords} dedup records of ${keys.length} keys`,
    }),
  );
  return cleared;
}
