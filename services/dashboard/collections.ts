/**
 * Names of the dashboard's Firestore collection groups, kept free of dependencies so the Pulumi
 * program can read them too: infra puts a TTL policy on `expiresAt` in each (docs/dashboard.md).
 */
export const DASHBOARD_COLLECTIONS = {
  /** dashboard/<granularity>/shards/<window>_<shard>: summed counters. */
  shards: 'shards',
  /** dashboard/<granularity>/sketches/<window>_<writer>_<shard>: HyperLogLog registers. */
  sketches: 'sketches',
  /** dashboard/<granularity>/windows/<window>/likes/<shard>_<bucket>: net likes per post, a map. */
  likes: 'likes',
} as const;

/** Every aggregate document's expiry, for the TTL policies. */
export const DASHBOARD_EXPIRY_FIELD = 'expiresAt';

/**
 * The map of net likes per post in a likes document: thousands of keys, each of which Firestore would
 * index by default (40 000 index entries per document at most, and each one costs on every write).
 * Nothing queries it, so infra exempts it from indexing.
 */
export const LIKES_POSTS_FIELD = 'posts';
