/**
 * How many events in a replay's scope a consumer has applied already, for the plan: the processor
 * and the dashboard keep a dedup record per consumer and event (shared/firestore/layout.ts), so
 * those that exist are sent again and dropped. The warehouse's consumers wrote the very rows the
 * replay reads, so all of them are there already (the dedup view keeps one copy). Anything else
 * cannot be told (undefined).
 */
import type { DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import { firestorePaths } from '../firestore/layout';
import type { MeshSpec } from '../spec/types';
import { LOCAL_ARCHIVE_SERVICE } from '../spec/names';

/** Document reads per getAll call. */
const BATCH = 300;

/** The consumer's dedup records that exist among those of `eventIds`. */
export async function existingDedupRecords(firestore: Firestore, consumer: string, eventIds: string[]): Promise<DocumentSnapshot[]> {
  const found: DocumentSnapshot[] = [];
  for (let i = 0; i < eventIds.length; i += BATCH) {
    const refs = eventIds.slice(i, i + BATCH).map((id) => firestore.doc(firestorePaths.dedup(consumer, id)));
    found.push(...(await firestore.getAll(...refs)).filter((d) => d.exists));
  }
  return found;
}

export function appliedCounter(
  spec: MeshSpec,
  consumerName: string,
  firestore: Firestore | undefined,
): ((eventIds: string[]) => Promise<number | undefined>) | undefined {
  const consumer = spec.consumers[consumerName];
  const service = consumer.service ? spec.services[consumer.service] : undefined;
  if (consumer.service === LOCAL_ARCHIVE_SERVICE && service?.uses.includes('bigquery')) return async (ids) => ids.length;
  if (!service?.uses.includes('firestore') || !firestore) return undefined;
  return async (ids) => (await existingDedupRecords(firestore, consumerName, ids)).length;
}
