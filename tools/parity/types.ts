/**
 * What `mesh parity` reports: one row per topic, window, check and item (an event type, an order
 * state ...), each sink's count, and a verdict. The warehouse is the reference (it keeps every event
 * it was given); a consumer's dead-letter hold accounts for what that consumer refused.
 */
import type { Granularity } from '../../services/dashboard/windows';

/** The sinks compared (shared/parity.ts: infra reads which consumers they are). */
import type { Sink } from '../../shared/parity';
export { SINKS, type Sink } from '../../shared/parity';

/**
 * ok: every sink agrees (what a sink refused is in its dead-letter hold);
 * pending: a consumer of the topic still has a message published before the window closed unacked,
 * so the window cannot be judged yet;
 * mismatch: a sink disagrees with the warehouse.
 */
export type Verdict = 'ok' | 'pending' | 'mismatch';

/**
 * events:        per event type, distinct events in the window (warehouse dedup view, dashboard counters)
 * order-states:  per state, order events moving an order into it (dashboard `orders`)
 * likes:         net likes in the window (dashboard `likes`)
 * users:         distinct users (the dashboard's HyperLogLog estimate, within its error)
 * orders:        per state, orders whose projection is in it (processor) against the warehouse's
 *                events of each order replayed through the order state machine in publish order
 * like-counters: net likes of each post liked in the range, all time (processor)
 * activity:      per event type, events of each user active in the range, all time (processor)
 * dead-letters:  per consumer, events it holds; each must be held or applied by every consumer of its topic
 */
export type ParityCheck = 'events' | 'order-states' | 'likes' | 'users' | 'orders' | 'like-counters' | 'activity' | 'dead-letters';

export interface ParityDifference {
  /** The sink (or consumer) that disagrees. */
  sink: string;
  /** One sentence: what differs, by how much, and what the ids say. */
  summary: string;
  /** A sample of ids (events, orders, posts, users) the sink lacks or has wrong. */
  sample: string[];
}

export interface ParityRow {
  topic: string;
  /** Window key (2026-12-04T03), or `range` for the processor's all-time entity checks. */
  window: string;
  /** ISO start and end (exclusive) of the window or range. */
  start: string;
  end: string;
  check: ParityCheck;
  /** Event type, order state, `net`, `distinct`, or a consumer name. */
  item: string;
  /** Each compared sink's number; a sink without a consumer of the topic is absent. */
  counts: Partial<Record<Sink, number>>;
  /** Events the sink's consumer refused and holds (taken off what it should have counted). */
  held?: Partial<Record<Sink, number>>;
  verdict: Verdict;
  differences: ParityDifference[];
}

export interface ParityReport {
  at: string;
  target: 'local' | 'gcp';
  project: string;
  granularity: Granularity;
  /** ISO start of the first window compared; windows end at or before `until`. */
  since: string;
  until: string;
  topics: string[];
  rows: ParityRow[];
  mismatches: number;
  pending: number;
  /** Anomalies the processor recorded per topic and kind since `since` (a line of the report). */
  anomalies: Record<string, Record<string, number>>;
  /** What limited the comparison (lag unknown, a hold too large to read ...). */
  warnings: string[];
}

export function verdictOf(rows: Pick<ParityRow, 'verdict'>[]): Verdict {
  if (rows.some((r) => r.verdict === 'mismatch')) return 'mismatch';
  return rows.some((r) => r.verdict === 'pending') ? 'pending' : 'ok';
}

/** "a, b, c and 4 more" */
export function sampleText(ids: string[], show = 5): string {
  return ids.length <= show ? ids.join(', ') : `${ids.slice(0, show).join(', ')} and ${ids.length - show} more`;
}
