/**
 * The latest parity result per topic (`mesh parity --record`, and the runs `npm start` schedules):
 * written by the tools, shown by the dashboard's parity panel. One small document per topic,
 * overwritten by each run, so the dashboard reads a handful of documents.
 *
 *   parityLatest/<topic>   {topic, verdict, at, since, until, granularity, checks, agree, pending, mismatches, differences}
 */
import type { Firestore } from '@google-cloud/firestore';
import { docId, fromDocId } from './ids';

export const PARITY_COLLECTION = 'parityLatest';

export type ParityVerdict = 'ok' | 'pending' | 'mismatch';

export interface ParityRecord {
  topic: string;
  verdict: ParityVerdict;
  /** ISO time of the run. */
  at: string;
  target: 'local' | 'gcp';
  granularity: string;
  /** ISO range of the windows compared. */
  since: string;
  until: string;
  checks: number;
  agree: number;
  pending: number;
  mismatches: number;
  /** The first few differences, one line each ("2026-12-04T04 events view: dashboard: ..."). */
  differences: string[];
}

/** Differences kept per record: enough to act on, small enough for a page. */
export const PARITY_DIFFERENCES_KEPT = 5;

export const parityPaths = {
  latest: () => PARITY_COLLECTION,
  topic: (topic: string) => `${PARITY_COLLECTION}/${docId(topic, 'topic')}`,
};

export async function writeParityRecords(db: Firestore, records: ParityRecord[]): Promise<void> {
  const batch = db.batch();
  for (const r of records) batch.set(db.doc(parityPaths.topic(r.topic)), { ...r, differences: r.differences.slice(0, PARITY_DIFFERENCES_KEPT) });
  await batch.commit();
}

/** Every topic's latest record, by topic name. */
export async function readParityRecords(db: Firestore): Promise<ParityRecord[]> {
  const snap = await db.collection(parityPaths.latest()).get();
  return snap.docs
    .map((d) => ({ ...(d.data() as ParityRecord), topic: String(d.get('topic') ?? fromDocId(d.id)) }))
    .sort((a, b) => a.topic.localeCompare(b.topic));
}
