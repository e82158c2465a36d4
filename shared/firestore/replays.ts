/**
 * Each replay's latest step, for the dashboard's replay panel: written by `mesh replay` beside its
 * replay_audit row (shared/replay/audit.ts), one small document per replay, overwritten at each
 * step (started, progress every 30 s, then completed, failed or cancelled). The audit table stays
 * the record; this is what a page can read in one query.
 *
 *   replaysLatest/<replayId>   {replayId, consumer, topic, state, owner, intent, operator, inScope, sent, ceilingPerSecond, ratePerSecond, elapsedSeconds, updatedAt}
 */
import type { Firestore } from '@google-cloud/firestore';
import { docId } from './ids';

export const REPLAYS_COLLECTION = 'replaysLatest';

export interface ReplayStatusRecord {
  replayId: string;
  consumer: string;
  topic: string;
  /** requested, cleared, started, progress, completed, failed or cancelled. */
  state: string;
  owner: string;
  intent: string;
  operator?: string;
  inScope?: number;
  sent: number;
  ceilingPerSecond: number;
  /** sent / elapsedSeconds: the rate it achieved (all runs together). */
  ratePerSecond?: number;
  elapsedSeconds: number;
  detail?: string;
  /** ISO time of this step. */
  updatedAt: string;
}

export const replayPaths = {
  latest: () => REPLAYS_COLLECTION,
  replay: (replayId: string) => `${REPLAYS_COLLECTION}/${docId(replayId, 'replay')}`,
};

export async function writeReplayStatus(db: Firestore, record: ReplayStatusRecord): Promise<void> {
  // Firestore refuses undefined fields.
  await db.doc(replayPaths.replay(record.replayId)).set(JSON.parse(JSON.stringify(record)) as ReplayStatusRecord);
}

/** The most recently updated replays, newest first. */
export async function readRecentReplays(db: Firestore, limit = 10): Promise<ReplayStatusRecord[]> {
  const snap = await db.collection(replayPaths.latest()).orderBy('updatedAt', 'desc').limit(limit).get();
  return snap.docs.map((d) => d.data() as ReplayStatusRecord);
}
