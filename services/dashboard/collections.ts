/**
 * Names of the dashboard's Firestore collection groups, kept free of dependencies so the Pulumi
 * program can read them too: infra puts a TTL policy on `expiresAt` in each (docs/dashboard.md).
 */
export const DASHBOARD_COLLECTIONS = {
  /** dashboard/<granularity>/shards/<window>_<shard>: summed counters. */
  shards: 'shards',
  /** dashboard/<granularity>/sketches/<window>_<writer>_<shard>: HyperLogLog registers. */
  sketches: 'sketches',
  /** dashboard/<granularity>/windows/<window>/likes/<postId>: net likes of a post. */
  likes: 'likes',
} as const;

/** Every aggregate document's expiry, for the TTL policies. */
export const DASHBOARD_EXPIRY_FIELD = 'expiresAt';
