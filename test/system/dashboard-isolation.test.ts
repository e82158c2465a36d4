/**
 * One event's failure never fails its neighbours (issue 19): a commit that Firestore refuses because
 * of one event is committed by halves until that event is alone; it is dead-lettered (poison) and the
 * rest are counted. The refusal is the real emulator's: the batch() wrapper adds, to any batch holding
 * the bad event's dedup record, a document over Firestore's 1 MiB limit (what an event carrying a
 * value Firestore cannot store would cause), and the emulator answers INVALID_ARGUMENT.
 */
import type { DocumentReference, Firestore, WriteBatch } from '@google-cloud/firestore';
import { PoisonError } from '../../shared/consumer';
import { Aggregator } from '../../services/dashboard/aggregator';
import { DashboardReader } from '../../services/dashboard/reader';
import type { Contribution } from '../../services/dashboard/windows';
import { testFirestore, uniqueProject } from '../support/emulators';

/** Makes every batch that creates a dedup record whose path ends in `badId` too large for Firestore. */
function refuseBatchesHolding(db: Firestore, badId: string): { refused: number } {
  const seen = { refused: 0 };
  const batchOf = db.batch.bind(db);
  db.batch = () => {
    const batch = batchOf();
    const create = batch.create.bind(batch) as (ref: DocumentReference, data: object) => WriteBatch;
    (batch as unknown as { create: typeof create }).create = (ref, data) => {
      if (ref.path.endsWith(badId)) {
        seen.refused++;
        batch.set(db.doc(`oversized/${badId}`), { blob: 'x'.repeat(1_100_000) });
      }
      return create(ref, data);
    };
    return batch;
  };
  return seen;
}

describe('a dashboard commit refused because of one event', () => {
  it('dead-letters that event alone and counts the other 199', async () => {
    const db = testFirestore(uniqueProject('isolation'));
    try {
      const bad = 'e-137';
      const refusals = refuseBatchesHolding(db, bad);
      const aggregator = new Aggregator(db, { shards: 1, docWriteSpacingMs: 0, flushIntervalMs: 20 });
      const time = Date.parse('2026-02-03T04:05:06Z');
      const events: Contribution[] = Array.from({ length: 200 }, (_, i) => ({
        consumer: 'dashboard-analytics',
        eventId: `e-${i}`,
        topic: 'analytics',
        type: 'click',
        timeMs: time,
        userId: `u-${i % 13}`,
      }));
      const results = await Promise.allSettled(events.map((c) => aggregator.add(c)));
      await aggregator.close();

      const outcome = (i: number) => results[i];
      const failed = results.map((r, i) => [r, i] as const).filter(([r]) => r.status === 'rejected');
      expect(failed.map(([, i]) => `e-${i}`)).toEqual([bad]);
      const reason = (outcome(137) as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(PoisonError);
      expect((reason as PoisonError).reason).toBe('rejected-by-sink');
      expect(results.filter((r) => r.status === 'fulfilled' && r.value === 'done')).toHaveLength(199);
      // Found by halves: more than one refused commit, far fewer than one per event.
      expect(refusals.refused).toBeGreaterThan(1);
      expect(refusals.refused).toBeLessThan(20);

      const [minute] = await new DashboardReader(db).windows('minute', time);
      expect(minute.total).toBe(199);
      expect(minute.events).toEqual({ analytics: { click: 199 } });
    } finally {
      await db.terminate();
    }
  }, 60_000);
});
