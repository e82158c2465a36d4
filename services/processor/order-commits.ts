/**
 * Group commit of order events: the order events in flight at once (one per order: ordering keys
 * send an order's events one at a time) go to Firestore in ONE atomic commit, each with its own
 * writes (its dedup record created, its projection under its own update-time precondition, its
 * anomaly), instead of one commit each (commit-queue.ts says when).
 *
 * A member gets its own writes' results, or the error it would have met committed alone, so the
 * store's optimistic path (store.ts, applyOrderEvent) stays as it is: a conflict evicts its cached
 * projection, reads again and retries. What a failed group does:
 * - an expected transient code (classifyError): every member gets it (the store retries ABORTED,
 *   redelivery the rest);
 * - ALREADY_EXISTS, FAILED_PRECONDITION or NOT_FOUND (some member's event was seen, or its cached
 *   projection is stale): one read of the group's dedup records; the seen members get the error
 *   (their retry reads 'duplicate'), the rest commit again as a group. When none was seen (a stale
 *   projection), or on any other failure, each member commits alone, so a failure stays its own.
 *
 * Size: an order event writes 1-4 documents of its own, so a group of `maxEvents` (100) is at most
 * 400 writes, under the 500 per commit Firestore once documented and far under its 10 MiB per
 * request (https://cloud.google.com/firestore/quotas).
 */
import type { DocumentReference, Firestore, WriteBatch, WriteResult } from '@google-cloud/firestore';
import { classifyError } from '../../shared/consumer';
import { CommitQueue, type CommitQueueOptions, type GroupCounts, type Waiting } from './commit-queue';

/** One order event's writes. */
export interface OrderWrites {
  /** Its dedup record (created by `write`): read back after a failed group to find the seen events. */
  dedupRef: DocumentReference;
  /** Adds the event's writes to the batch; returns how many it added. */
  write: (batch: WriteBatch) => number;
}

export interface OrderCommitOptions extends CommitQueueOptions {
  /** Times the unseen rest of a group is committed again before each commits alone. Default 2. */
  maxRegroups?: number;
}

/** What /stats shows (sections.orderCommits). */
export interface OrderCommitStats extends GroupCounts {
  /** Members found seen by the read after a group failed. */
  seenFound: number;
  /** Groups whose members committed alone. */
  splits: number;
}

/** ALREADY_EXISTS, FAILED_PRECONDITION, NOT_FOUND: a member's event was seen, or its projection moved. */
const CONFLICT_CODES = new Set([6, 9, 5]);

type Pending = Waiting<OrderWrites, WriteResult[]>;

export class OrderCommits extends CommitQueue<OrderWrites, WriteResult[]> {
  readonly stats: OrderCommitStats = { commits: 0, events: 0, largestGroup: 0, seenFound: 0, splits: 0 };
  private readonly maxRegroups: number;

  constructor(db: Firestore, options: OrderCommitOptions = {}) {
    super(db, options);
    this.maxRegroups = options.maxRegroups ?? 2;
  }

  /** Commits the event's writes with those of the other events in flight: their results, in order, or the error. */
  commit(writes: OrderWrites): Promise<WriteResult[]> {
    return this.enqueue(writes);
  }

  protected commitGroup(group: Pending[]): Promise<void> {
    return this.commitGroupAt(group, 0);
  }

  private async commitGroupAt(group: Pending[], regroups: number): Promise<void> {
    if (!group.length) return;
    this.counted(group.length);
    const batch = this.db.batch();
    const counts = group.map((p) => p.member.write(batch));
    try {
      const results = await batch.commit();
      let at = 0;
      group.forEach((p, i) => {
        p.resolve(results.slice(at, at + counts[i]));
        at += counts[i];
      });
      return;
    } catch (error) {
      if (group.length === 1) return void group[0].reject(error);
      const verdict = classifyError(error);
      if (verdict.kind === 'transient' && verdict.expected) {
        for (const p of group) p.reject(error);
        return;
      }
      const code = (error as { code?: number }).code;
      if (code !== undefined && CONFLICT_CODES.has(code) && regroups < this.maxRegroups) {
        let seen: boolean[];
        try {
          seen = await this.seenOf(group);
        } catch (readError) {
          for (const p of group) p.reject(readError);
          return;
        }
        if (seen.some(Boolean)) {
          const rest = group.filter((p, i) => {
            if (seen[i]) {
              this.stats.seenFound++;
              p.reject(error);
            }
            return !seen[i];
          });
          return this.commitGroupAt(rest, regroups + 1);
        }
      }
      this.stats.splits++;
      await Promise.all(group.map((p) => this.commitGroupAt([p], this.maxRegroups)));
    }
  }
}
