/**
 * Where the mesh keeps its state in Firestore: collection names, the expiry (TTL) fields, and the
 * path of every document the services write, with each value made a document id by the one rule of
 * ids.ts. The processor and the dashboard write through these paths, infra puts its TTL policies and
 * index exemptions on these names, and the tools read through them. Plain strings, no client: build
 * references with `db.doc(path)` / `db.collection(path)`.
 *
 *   consumers/<consumer>/dedup/<eventId>                         a dedup record per event and consumer
 *                                                                {expiresAt ...}: count once
 *   orders/<orderId>                                             processor: the order's projection
 *   orders/<orderId>/anomalies/<eventId>                         processor: an impossible step
 *   users/<userId>                                               processor: activity counts
 *   posts/<postId>/likeShards/<n>                                processor: net likes, LIKE_SHARDS docs
 *   dashboard/<granularity>/shards/<window>_<shard>              dashboard: summed increments
 *   dashboard/<granularity>/sketches/<window>_<writer>_<shard>   dashboard: HyperLogLog registers
 *   dashboard/<granularity>/windows/<window>/likes/<shard>_<bucket>  dashboard: net likes {posts.<key>}
 *
 * Window keys, writers and shard numbers are the dashboard's own (ids already), so they are not
 * encoded. Every dashboard aggregate carries `start` and `expiresAt`.
 */
import { docId } from './ids';

export const COLLECTIONS = {
  consumers: 'consumers',
  dedup: 'dedup',
  orders: 'orders',
  anomalies: 'anomalies',
  users: 'users',
  posts: 'posts',
  likeShards: 'likeShards',
  dashboard: 'dashboard',
  windows: 'windows',
} as const;

/**
 * The dashboard's aggregate collection groups; infra puts a TTL policy on DASHBOARD_EXPIRY_FIELD in
 * each (docs/dashboard.md).
 */
export const DASHBOARD_COLLECTIONS = {
  /** dashboard/<granularity>/shards/<window>_<shard>: summed counters. */
  shards: 'shards',
  /** dashboard/<granularity>/sketches/<window>_<writer>_<shard>: HyperLogLog registers. */
  sketches: 'sketches',
  /** dashboard/<granularity>/windows/<window>/likes/<shard>_<bucket>: net likes per post, a map. */
  likes: 'likes',
} as const;

/** The timestamp after which a document may go: TTL policies are set on it (infra/firestore.ts). */
export const EXPIRY_FIELD = 'expiresAt';
/** Dedup records (collection group `dedup`) expire at EXPIRY_FIELD. */
export const DEDUP_COLLECTION = COLLECTIONS.dedup;
export const DEDUP_EXPIRY_FIELD = EXPIRY_FIELD;
/** Every dashboard aggregate document's expiry. */
export const DASHBOARD_EXPIRY_FIELD = EXPIRY_FIELD;
/** How long a dedup record is kept: a republish later than this applies again. */
export const DEDUP_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * The map of net likes per post in a likes document: thousands of keys, each of which Firestore would
 * index by default (40 000 index entries per document at most, and each one costs on every write).
 * Nothing queries it, so infra exempts it from indexing. Its keys are post ids made document ids
 * (ids.ts), so reserved names such as __x__ never reach Firestore as field names.
 */
export const LIKES_POSTS_FIELD = 'posts';

/** Document paths; every value from an event goes through docId (PoisonError `bad-id` if it cannot). */
export const firestorePaths = {
  dedup: (consumer: string, eventId: string) => `${COLLECTIONS.consumers}/${docId(consumer, 'consumer')}/${COLLECTIONS.dedup}/${docId(eventId, 'event id')}`,
  order: (orderId: string) => `${COLLECTIONS.orders}/${docId(orderId, 'orderId')}`,
  anomalies: (orderId: string) => `${firestorePaths.order(orderId)}/${COLLECTIONS.anomalies}`,
  anomaly: (orderId: string, eventId: string) => `${firestorePaths.anomalies(orderId)}/${docId(eventId, 'event id')}`,
  user: (userId: string) => `${COLLECTIONS.users}/${docId(userId, 'userId')}`,
  likeShards: (postId: string) => `${COLLECTIONS.posts}/${docId(postId, 'postId')}/${COLLECTIONS.likeShards}`,
  likeShard: (postId: string, shard: number) => `${firestorePaths.likeShards(postId)}/${shard}`,
  dashboardShards: (granularity: string) => `${COLLECTIONS.dashboard}/${granularity}/${DASHBOARD_COLLECTIONS.shards}`,
  dashboardShard: (granularity: string, window: string, shard: number) => `${firestorePaths.dashboardShards(granularity)}/${window}_${shard}`,
  dashboardSketches: (granularity: string) => `${COLLECTIONS.dashboard}/${granularity}/${DASHBOARD_COLLECTIONS.sketches}`,
  dashboardSketch: (granularity: string, window: string, writer: string, shard: number) =>
    `${firestorePaths.dashboardSketches(granularity)}/${window}_${writer}_${shard}`,
  dashboardLikes: (granularity: string, window: string) =>
    `${COLLECTIONS.dashboard}/${granularity}/${COLLECTIONS.windows}/${window}/${DASHBOARD_COLLECTIONS.likes}`,
  dashboardLike: (granularity: string, window: string, shard: number, bucket: number) =>
    `${firestorePaths.dashboardLikes(granularity, window)}/${shard}_${bucket}`,
};
