/**
 * The queue in front of a group commit: what arrives while `maxCommitsInFlight` commits are in
 * flight waits, and goes to Firestore together in the next one (at most `maxEvents`). A lone arrival
 * finds a free slot and is committed at once, so nothing waits at low load; under load, the round
 * trips per event fall by the group's size. Subclasses say how a group is committed and settled
 * (analytics-commits.ts, order-commits.ts).
 */

import type { DocumentReference, Firestore } from '@google-cloud/firestore';

/** What every group commit counts (/stats): commits made (re-commits included), the events in them, the largest. */
export interface GroupCounts {
  commits: number;
  events: number;
  largestGroup: number;
}

/** One member of a group waiting for its commit, and how to settle it. */
export interface Waiting<M, R> {
  member: M;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export interface CommitQueueOptions {
  /** Most events in one commit. Default 100. */
  maxEvents?: number;
  /** Commits in flight at once; events that arrive while all are busy go together in the next. Default 2. */
  maxCommitsInFlight?: number;
}

/** Every member is one event with a dedup record its commit creates. */
export abstract class CommitQueue<M extends { dedupRef: DocumentReference }, R> {
  protected abstract readonly stats: GroupCounts;
  protected readonly maxEvents: number;
  protected readonly maxCommitsInFlight: number;
  private readonly queue: Waiting<M, R>[] = [];
  private inFlight = 0;

  constructor(
    protected readonly db: Firestore,
    options: CommitQueueOptions = {},
  ) {
    this.maxEvents = options.maxEvents ?? 100;
    this.maxCommitsInFlight = options.maxCommitsInFlight ?? 2;
  }

  /** Settles when the member's group is committed (or the member is settled otherwise). */
  protected enqueue(member: M): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ member, resolve, reject });
      this.pump();
    });
  }

  /** Counts a commit of `events` events (call once per commit made). */
  protected counted(events: number): void {
    this.stats.commits++;
    this.stats.events += events;
    if (events > this.stats.largestGroup) this.stats.largestGroup = events;
  }

  /** After a group failed on a conflict: which members' dedup records exist (their events were seen), in one read. */
  protected async seenOf(group: Waiting<M, R>[]): Promise<boolean[]> {
    return (await this.db.getAll(...group.map((p) => p.member.dedupRef))).map((snap) => snap.exists);
  }

  /** Commits a group and settles every member of it. Must not throw. */
  protected abstract commitGroup(group: Waiting<M, R>[]): Promise<void>;

  private pump(): void {
    while (this.inFlight < this.maxCommitsInFlight && this.queue.length) {
      const group = this.queue.splice(0, this.maxEvents);
      this.inFlight++;
      void this.commitGroup(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }
}
