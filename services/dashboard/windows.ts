/**
 * What one event contributes to the dashboard, and the tumbling windows it falls in. Windows follow
 * the event's own time (ce-time), not the time it was handled, so every instance, a redelivery and
 * a late replay all put an event in the same window.
 */
import { PoisonError, type DecodedEvent } from '../../shared/consumer';

export const GRANULARITIES = ['minute', 'hour'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

const SIZE_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000 };

export function isGranularity(value: unknown): value is Granularity {
  return typeof value === 'string' && (GRANULARITIES as readonly string[]).includes(value);
}

export function windowSizeMs(granularity: Granularity): number {
  return SIZE_MS[granularity];
}

/** Start (ms) of the window holding `timeMs`. */
export function windowStart(granularity: Granularity, timeMs: number): number {
  return Math.floor(timeMs / SIZE_MS[granularity]) * SIZE_MS[granularity];
}

const lastKeys: Record<Granularity, { start: number; key: string }> = { minute: { start: NaN, key: '' }, hour: { start: NaN, key: '' } };

/** Document-id-safe key of a window: 2024-05-01T12:34 (minute), 2024-05-01T12 (hour). */
export function windowKey(granularity: Granularity, startMs: number): string {
  // Called several times per event, nearly always for the window of the one before: remember it.
  const last = lastKeys[granularity];
  if (last.start === startMs) return last.key;
  const iso = new Date(startMs).toISOString();
  const key = granularity === 'minute' ? iso.slice(0, 16) : iso.slice(0, 13);
  lastKeys[granularity] = { start: startMs, key };
  return key;
}

/** One event's effect on the aggregates. */
export interface Contribution {
  consumer: string;
  eventId: string;
  topic: string;
  type: string;
  /** Event time (ms): picks the windows. */
  timeMs: number;
  /** The acting user (analytics userId, orders customerId) for unique users; none if empty. */
  userId?: string;
  /** orders: the state the event moves the order into (order.paid -> paid). */
  orderState?: string;
  /** like.created / like.removed: the post and +1 / -1. */
  like?: { postId: string; delta: number };
}

const LIKE_DELTA: Record<string, number> = { 'like.created': 1, 'like.removed': -1 };

/** The payload field naming the acting user: customerId on the orders topic, userId elsewhere. */
export function userFieldOf(topic: string): 'customerId' | 'userId' {
  return topic === 'orders' ? 'customerId' : 'userId';
}

/** The order state an event moves its order into (order.paid -> paid), or undefined. */
export function orderStateOf(topic: string, type: string): string | undefined {
  return topic === 'orders' && type.startsWith('order.') ? type.slice('order.'.length) : undefined;
}

/** +1 / -1 for like.created / like.removed, else undefined. */
export function likeDeltaOf(type: string): number | undefined {
  return LIKE_DELTA[type];
}

/** Builds the contribution; throws PoisonError for events that cannot count (a like without a post). */
export function contributionOf(consumer: string, topic: string, decoded: DecodedEvent): Contribution {
  const { event } = decoded;
  const timeMs = Date.parse(event.time);
  if (!Number.isFinite(timeMs)) throw new PoisonError(`ce-time "${event.time}" is not a time`, 'handler');
  const data = event.data;
  const c: Contribution = { consumer, eventId: event.id, topic, type: event.type, timeMs };
  const user = data[userFieldOf(topic)];
  if (typeof user === 'string' && user) c.userId = user;
  const orderState = orderStateOf(topic, event.type);
  if (orderState) c.orderState = orderState;
  const delta = likeDeltaOf(event.type);
  if (delta !== undefined) {
    const postId = data.postId;
    if (typeof postId !== 'string' || !postId) throw new PoisonError(`${event.type} without postId`, 'handler');
    c.like = { postId, delta };
  }
  return c;
}
