/**
 * Where the dashboard keeps its state in Firestore (docs/dashboard.md has the picture):
 *
 *   consumers/<consumer>/dedup/<eventId>                  one per event counted {expiresAt}: count once
 *   dashboard/<granularity>/shards/<window>_<shard>       summed increments {start, total, events, orders}
 *   dashboard/<granularity>/sketches/<window>_<writer>_<shard>  HyperLogLog registers, one writer each
 *   dashboard/<granularity>/windows/<window>/likes/<shard>_<bucket>  net likes {posts.<postKey>} of the
 *                                                        posts in one bucket, written by one shard's commits
 *
 * Every aggregate document carries `start` (the window start, for range queries on one field, which
 * needs no composite index) and `expiresAt` (for a TTL policy).
 */
import type { DocumentReference, Firestore, CollectionReference } from '@google-cloud/firestore';
import { PoisonError } from '../../shared/consumer';
import { DASHBOARD_COLLECTIONS } from './collections';
import type { Granularity } from './windows';

/** A Firestore document id for any string: percent-encoded; PoisonError when even that cannot be one. */
export function safeDocId(value: string, what: string): string {
  const id = encodeURIComponent(value);
  if (!id || id === '.' || id === '..' || /^__.*__$/.test(id) || Buffer.byteLength(id) > 1500) {
    throw new PoisonError(`${what} ${JSON.stringify(value.slice(0, 100))} cannot be a Firestore document id`, 'bad-id');
  }
  return id;
}

/**
 * A post id as a key of a likes document's `posts` map: percent-encoded like a document id (so
 * `posts.<key>` never needs escaping and reserved names such as __x__ are refused as poison).
 */
export function postKey(postId: string): string {
  return safeDocId(postId, 'postId');
}

export function postIdOf(key: string): string {
  return decodeURIComponent(key);
}

/** Which of `buckets` likes documents holds a post: FNV-1a of its id, stable across processes. */
export function bucketOf(postId: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < postId.length; i++) hash = Math.imul(hash ^ postId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % buckets;
}

export class DashboardLayout {
  constructor(readonly db: Firestore) {}

  dedup(consumer: string, eventId: string): DocumentReference {
    return this.db.collection('consumers').doc(safeDocId(consumer, 'consumer')).collection('dedup').doc(safeDocId(eventId, 'event id'));
  }

  shards(granularity: Granularity): CollectionReference {
    return this.db.collection('dashboard').doc(granularity).collection(DASHBOARD_COLLECTIONS.shards);
  }

  shard(granularity: Granularity, window: string, shard: number): DocumentReference {
    return this.shards(granularity).doc(`${window}_${shard}`);
  }

  sketches(granularity: Granularity): CollectionReference {
    return this.db.collection('dashboard').doc(granularity).collection(DASHBOARD_COLLECTIONS.sketches);
  }

  userSketch(granularity: Granularity, window: string, writer: string, shard: number): DocumentReference {
    return this.sketches(granularity).doc(`${window}_${writer}_${shard}`);
  }

  likes(granularity: Granularity, window: string): CollectionReference {
    return this.db.collection('dashboard').doc(granularity).collection('windows').doc(window).collection(DASHBOARD_COLLECTIONS.likes);
  }

  likeShard(granularity: Granularity, window: string, shard: number, bucket: number): DocumentReference {
    return this.likes(granularity, window).doc(`${shard}_${bucket}`);
  }
}
