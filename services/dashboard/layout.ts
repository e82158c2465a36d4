/**
 * The dashboard's Firestore documents, as references. The paths, collection names and the document-id
 * rule are the mesh's Firestore contract (shared/firestore; docs/dashboard.md has the picture).
 */
import type { DocumentReference, Firestore, CollectionReference } from '@google-cloud/firestore';
import { docId, firestorePaths, fromDocId, shardOf } from '../../shared/firestore';
import type { Granularity } from './windows';

/**
 * A post id as a key of a likes document's `posts` map: the post id made a document id (so reserved
 * names such as __x__ never become field names); PoisonError `bad-id` when it cannot be one.
 */
export function postKey(postId: string): string {
  return docId(postId, 'postId');
}

export function postIdOf(key: string): string {
  return fromDocId(key);
}

/** Which of `buckets` likes documents holds a post: FNV-1a of its id, stable across processes. */
export function bucketOf(postId: string, buckets: number): number {
  return shardOf(postId, buckets);
}

export class DashboardLayout {
  constructor(readonly db: Firestore) {}

  dedup(consumer: string, eventId: string): DocumentReference {
    return this.db.doc(firestorePaths.dedup(consumer, eventId));
  }

  shards(granularity: Granularity): CollectionReference {
    return this.db.collection(firestorePaths.dashboardShards(granularity));
  }

  shard(granularity: Granularity, window: string, shard: number): DocumentReference {
    return this.db.doc(firestorePaths.dashboardShard(granularity, window, shard));
  }

  sketches(granularity: Granularity): CollectionReference {
    return this.db.collection(firestorePaths.dashboardSketches(granularity));
  }

  userSketch(granularity: Granularity, window: string, writer: string, shard: number): DocumentReference {
    return this.db.doc(firestorePaths.dashboardSketch(granularity, window, writer, shard));
  }

  likes(granularity: Granularity, window: string): CollectionReference {
    return this.db.collection(firestorePaths.dashboardLikes(granularity, window));
  }

  likeShard(granularity: Granularity, window: string, shard: number, bucket: number): DocumentReference {
    return this.db.doc(firestorePaths.dashboardLike(granularity, window, shard, bucket));
  }
}
