import { shardOf } from '../../shared/firestore';

/**
 * Analytics effects as pure functions: which like-counter shard an event hits, by how much, and
 * which activity counter it bumps.
 *
 * One Firestore document sustains about one write per second in production, so a post's likes are
 * spread over LIKE_SHARDS documents (`posts/<postId>/likeShards/<n>`) and read back as their sum.
 */

/** The analytics topic payload, as read at its current revision. */
export interface AnalyticsEventData {
  userId: string;
  sessionId: string;
  page: string;
  element: string;
  postId: string;
  country: string;
  durationMs: number;
}

export const LIKE_SHARDS = 10;

/** +1 for like.created, -1 for like.removed, 0 otherwise. */
export function likeDelta(type: string): number {
  if (type === 'like.created') return 1;
  if (type === 'like.removed') return -1;
  return 0;
}

/** Shard of an event: FNV-1a of its id mod LIKE_SHARDS, so a redelivery hits the same shard. */
export function likeShard(eventId: string, shards = LIKE_SHARDS): number {
  return shardOf(eventId, shards);
}

/** Field name of an event type's counter in `users/<userId>.counts` (dots would read as nested paths). */
export function activityField(type: string): string {
  return type.replace(/[^A-Za-z0-9_]/g, '_');
}
