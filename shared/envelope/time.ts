/**
 * The event's time (`ce-time`): what a consumer accepts, in one place.
 *
 * - The text is RFC 3339 (CloudEvents' `time` attribute), nothing else `Date.parse` takes: `1`,
 *   RFC 822 dates and `2024-02-30` are refused.
 * - The time lies within bounds of the message's publish time: at most `maxAgeSeconds` before it
 *   (late events and backfills) and at most `maxAheadSeconds` after it (producer clocks run ahead).
 *   Measured against the publish time, not the consumer's clock, so every consumer and every
 *   redelivery of a message reaches the same verdict: the sinks never disagree about an event at
 *   the edge, and a redelivery an hour later is not refused where the first delivery was taken.
 *
 * An event outside the bounds can never succeed (a window far in the past or future is no window
 * anyone keeps), so consumers dead-letter it at once with reason `time-out-of-range`.
 */
import { formatDuration } from '../spec/duration';

/** Defaults of a topic's `eventTime` in the spec. */
export const DEFAULT_EVENT_TIME_BOUNDS: EventTimeBounds = {
  /** A year back: backfills and replays of the last year are taken. */
  maxAgeSeconds: 366 * 24 * 3600,
  /** An hour ahead of the publish time: clock skew, not scheduling. */
  maxAheadSeconds: 3600,
};

export interface EventTimeBounds {
  maxAgeSeconds: number;
  maxAheadSeconds: number;
}

// RFC 3339 section 5.6 date-time: full-date "T" full-time, with seconds, optional fraction and a
// required offset (Z or ±hh:mm). "t", "z" and a space separator are allowed by section 5.6's notes;
// CloudEvents producers use "T" and "Z", so those alone are taken.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Milliseconds since the epoch of an RFC 3339 date-time, or undefined when `text` is not one
 * (wrong shape, a day the month does not have, hour 24, an offset beyond ±23:59).
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  // 60 is a leap second (RFC 3339 allows it); JavaScript time has none, so it reads as :59.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(second === 60 ? text.replace(/:60(?=[.Z+-])/, ':59') : text);
  return Number.isNaN(ms) ? undefined : ms;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Why an event time is out of bounds of its publish time, or undefined when it is within them.
 * Without a publish time (a message built by hand) the bounds are taken from `nowMs`.
 */
export function eventTimeProblem(timeMs: number, publishTimeMs: number | undefined, bounds: EventTimeBounds, nowMs = Date.now()): string | undefined {
  const reference = publishTimeMs ?? nowMs;
  const against = publishTimeMs === undefined ? 'now' : 'its publish time';
  if (timeMs < reference - bounds.maxAgeSeconds * 1000)
    return `ce-time ${new Date(timeMs).toISOString()} is more than ${formatDuration(bounds.maxAgeSeconds)} before ${against} (the topic's eventTime.maxAge)`;
  if (timeMs > reference + bounds.maxAheadSeconds * 1000)
    return `ce-time ${new Date(timeMs).toISOString()} is more than ${formatDuration(bounds.maxAheadSeconds)} after ${against} (the topic's eventTime.maxAhead)`;
  return undefined;
}
