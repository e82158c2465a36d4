/**
 * Group commit of analytics effects: the analytics events that arrive while earlier commits are in
 * flight go to Firestore together, in ONE atomic commit, instead of one commit each.
 *
 * Why: each analytics event is a blind increment plus its dedup record, and the cost of a commit is
 * mostly per round trip (gRPC call, the emulator's or Firestore's per-commit work), not per write.
 * Push delivery hands the processor up to `concurrency` events at once; committing them together
 * cuts the round trips per event by the group's size. At low load nothing waits: a commit starts
 * as soon as a slot is free, so a lone event is committed alone, at once.
 *
 * Exactly once stays exact: each event's dedup record is `create()`d in the same commit as its
 * effects, so the commit applies all of its events or none.
 * - ALREADY_EXISTS: some event was seen before. One read of the group's dedup records tells which;
 *   those answer 'duplicate', the rest commit again as a group.
 * - An expected transient code (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, ...; classifyError):
 *   every event of the group is sent back to be redelivered, as one event's commit would be.
 * - Any other failure may be one event's fault (Firestore's INVALID_ARGUMENT for a value it cannot
 *   store): each event then commits alone, so it fails alone (dead-lettered at once as
 *   'rejected-by-sink') and never fails its neighbours.
 * - The same event twice at once (a duplicate publish arriving next to its original): the second
 *   waits for the first and answers 'duplicate' when the first applied, without a round trip.
 *
 * The effects of a group are merged per document (one write per user, one per like shard: the
 * increments summed), so a commit writes each document once. Firestore's documented limits
 * (https://cloud.google.com/firestore/quotas): 10 MiB per request and 500 field transforms per
 * document per commit; a group of `maxEvents` (100) small events with 3 transforms per user
 * document stays far under both. That page no longer lists a number of writes per commit; the 500
 * it once did holds too (at most 3 writes an event, 300 a group).
 */
import { FieldValue, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import { classifyError, sinkFailure } from '../../shared/consumer';
import { CommitQueue, type CommitQueueOptions, type GroupCounts, type Waiting } from './commit-queue';

/** One analytics event's writes, before merging. */
export interface AnalyticsEffect {
  /** The dedup record: created, so a seen event fails the commit with ALREADY_EXISTS. */
  dedupRef: DocumentReference;
  dedupRecord: Record<string, unknown>;
  userRef: DocumentReference;
  userId: string;
  /** Field of `counts` this event bumps. */
  activityField: string;
  /** The replay that sent it, if any (kept as the user's `lastReplayId`). */
  replayId?: string;
  /** A like's shard and +1/-1. */
  like?: { ref: DocumentReference; delta: number };
  /** For error messages. */
  eventId: string;
}

export type AnalyticsOutcome = 'done' | 'duplicate';

export interface AnalyticsCommitOptions extends CommitQueueOptions {
  /** Times a group is re-committed after ALREADY_EXISTS before its events commit alone. Default 3. */
  maxRegroups?: number;
}

/** What /stats shows (sections.analyticsCommits): round trips per event, and why groups split. */
export interface AnalyticsCommitStats extends GroupCounts {
  /** Events found already applied by the read after a group's ALREADY_EXISTS. */
  duplicatesFound: number;
  /** Events answered 'duplicate' because the same event was being applied at that moment. */
  duplicatesJoined: number;
  /** Groups whose events committed alone after a failure that may be one event's fault. */
  splits: number;
}

/** gRPC ALREADY_EXISTS: a created document (here, a dedup record) exists. */
const ALREADY_EXISTS = 6;

type Pending = Waiting<AnalyticsEffect, AnalyticsOutcome>;

export class AnalyticsCommits extends CommitQueue<AnalyticsEffect, AnalyticsOutcome> {
  readonly stats: AnalyticsCommitStats = { commits: 0, events: 0, largestGroup: 0, duplicatesFound: 0, duplicatesJoined: 0, splits: 0 };
  private readonly maxRegroups: number;
  /** Dedup path -> the outcome of the event being applied now (queued or committing). */
  private readonly applying = new Map<string, Promise<AnalyticsOutcome>>();

  constructor(db: Firestore, options: AnalyticsCommitOptions = {}) {
    super(db, options);
    this.maxRegroups = options.maxRegroups ?? 3;
  }

  /** Applies one event's effects exactly once: 'done', 'duplicate', or throws (TransientError or the cause). */
  async apply(effect: AnalyticsEffect): Promise<AnalyticsOutcome> {
    const key = effect.dedupRef.path;
    const earlier = this.applying.get(key);
    if (earlier) {
      const applied = await earlier.then(
        () => true,
        () => false,
      );
      if (applied) {
        this.stats.duplicatesJoined++;
        return 'duplicate';
      }
      // The first delivery failed: this one tries on its own (it may be the one that applies).
      return this.apply(effect);
    }
    const outcome = this.enqueue(effect);
    this.applying.set(key, outcome);
    try {
      return await outcome;
    } finally {
      if (this.applying.get(key) === outcome) this.applying.delete(key);
    }
  }

  protected commitGroup(group: Pending[]): Promise<void> {
    return this.commitGroupAt(group, 0);
  }

  /** Commits a group; settles each of its events' promises. Never throws. */
  private async commitGroupAt(group: Pending[], regroups: number): Promise<void> {
    if (!group.length) return;
    try {
      await this.commit(group.map((p) => p.member));
      for (const p of group) p.resolve('done');
      return;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (group.length === 1) {
        if (code === ALREADY_EXISTS) group[0].resolve('duplicate');
        else group[0].reject(sinkFailure(error, `Firestore write of analytics event ${group[0].member.eventId} failed`));
        return;
      }
      if (code === ALREADY_EXISTS && regroups < this.maxRegroups) return this.dropSeen(group, regroups, error);
      const verdict = classifyError(error);
      if (verdict.kind === 'transient' && verdict.expected) {
        for (const p of group) p.reject(sinkFailure(error, `Firestore write of analytics event ${p.member.eventId} (in a group of ${group.length}) failed`));
        return;
      }
      // May be one event's fault: each commits alone.
      this.stats.splits++;
      await Promise.all(group.map((p) => this.commitGroupAt([p], this.maxRegroups)));
    }
  }

  /** After ALREADY_EXISTS: reads the group's dedup records; the seen events are duplicates, the rest commit again. */
  private async dropSeen(group: Pending[], regroups: number, cause: unknown): Promise<void> {
    let seen: boolean[];
    try {
      seen = await this.seenOf(group);
    } catch (error) {
      for (const p of group)
        p.reject(sinkFailure(error, `reading dedup records after a group's ${(cause as Error).message}, for analytics event ${p.member.eventId}`));
      return;
    }
    const rest: Pending[] = [];
    group.forEach((p, i) => {
      if (!seen[i]) return void rest.push(p);
      this.stats.duplicatesFound++;
      p.resolve('duplicate');
    });
    // None seen: another writer created one between the commit and the read, or the failure was another document's; try once more.
    await this.commitGroupAt(rest, regroups + 1);
  }

  private async commit(effects: AnalyticsEffect[]): Promise<void> {
    this.counted(effects.length);
    const batch = this.db.batch();
    for (const e of effects) batch.create(e.dedupRef, e.dedupRecord);
    for (const write of mergeAnalyticsWrites(effects)) batch.set(write.ref, write.data, { merge: true });
    await batch.commit();
  }
}

/**
 * The effects of several events as one merge-write per document: per user, `total` and each
 * `counts.<type>` incremented by the events' sum, `updatedAt` the commit time, `lastReplayId` the
 * last replay among them; per like shard, `count` incremented by the sum of the deltas (written even
 * when the sum is 0, as the events one by one would create it). Equal to the events' writes one by one.
 */
export function mergeAnalyticsWrites(effects: AnalyticsEffect[]): { ref: DocumentReference; data: Record<string, unknown> }[] {
  const users = new Map<string, { ref: DocumentReference; userId: string; total: number; counts: Map<string, number>; replayId?: string }>();
  const likes = new Map<string, { ref: DocumentReference; delta: number }>();
  for (const e of effects) {
    let user = users.get(e.userRef.path);
    if (!user) users.set(e.userRef.path, (user = { ref: e.userRef, userId: e.userId, total: 0, counts: new Map() }));
    user.total++;
    user.counts.set(e.activityField, (user.counts.get(e.activityField) ?? 0) + 1);
    if (e.replayId) user.replayId = e.replayId;
    if (e.like) {
      const like = likes.get(e.like.ref.path);
      if (like) like.delta += e.like.delta;
      else likes.set(e.like.ref.path, { ref: e.like.ref, delta: e.like.delta });
    }
  }
  const writes: { ref: DocumentReference; data: Record<string, unknown> }[] = [];
  for (const u of users.values()) {
    const counts: Record<string, FieldValue> = {};
    for (const [field, n] of u.counts) counts[field] = FieldValue.increment(n);
    writes.push({
      ref: u.ref,
      data: {
        userId: u.userId,
        total: FieldValue.increment(u.total),
        counts,
        updatedAt: FieldValue.serverTimestamp(),
        ...(u.replayId ? { lastReplayId: u.replayId } : {}),
      },
    });
  }
  for (const l of likes.values()) writes.push({ ref: l.ref, data: { count: FieldValue.increment(l.delta) } });
  return writes;
}
