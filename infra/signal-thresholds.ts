/**
 * The thresholds of the signal alerts (signal-alerts.ts, schema-dead-letters.ts), apart from the
 * resources so the runbooks (tools/runbooks/render.ts) can name them without loading Pulumi.
 */

/**
 * Failed publish requests per minute above which a minute counts: any. Client libraries retry what
 * is retryable ("A background rate of retryable errors (lower than 1%) is not a cause for concern,
 * since most Cloud Client Libraries retry message failures", https://cloud.google.com/pubsub/docs/monitoring),
 * so one bad minute is noise; failures in every minute of PUBLISH_FAILURE_SUSTAIN_SECONDS are a
 * producer being refused (the topic's schema, a permission, a deleted topic) or Pub/Sub degraded.
 */
export const PUBLISH_FAILURES_PER_MINUTE = 0;
export const PUBLISH_FAILURE_SUSTAIN_SECONDS = 300;

/**
 * Retried deliveries per minute of one consumer. A few are normal and retried by design (Firestore
 * contention, a shutdown nacking what it had not started, an ordered key holding back what queued
 * behind a failed message); ten a minute for ten minutes is a dependency or a code path that keeps
 * failing, well before the messages run out of deadLetter.maxAttempts and land in dead letters.
 */
export const RETRIES_PER_MINUTE = 10;
export const RETRY_SUSTAIN_SECONDS = 600;

/**
 * The share of the topic's retention at which a consumer's oldest unacked message warns: a seek
 * reaches back only as far as the topic keeps messages (topics.ts), so past the retention a gap of
 * this consumer can no longer be replayed from the topic; at half there is as long again to act.
 */
export { TOPIC_RETENTION_WARN_RATIO as RETENTION_HALF_RATIO } from '../shared/health/types';

/**
 * The dead-letter reasons (shared/consumer/errors.ts POISON_REASONS) that mean the event breaks its
 * topic's contract: `schema` (the data does not match its revision, or the topic does not accept that
 * revision) and `unknown-type` (ce-type is not one of the topic's eventTypes). Not counted: the
 * envelope and encoding reasons (not-json, missing-attribute, bad-attribute, unsupported-specversion,
 * bad-encoding, too-deep: a message that is not a mesh event at all), time-out-of-range, bad-id,
 * rejected-by-sink and handler (a valid event a handler or sink cannot take), max-attempts (retries
 * ran out). `<c>-dead-letters` sees every dead letter whatever its reason.
 */
export { SCHEMA_FAILURE_REASONS } from '../shared/consumer/dead-letter';

/** More than this many schema-failure dead letters of one consumer within SCHEMA_DEAD_LETTER_WINDOW_SECONDS fires. */
export const SCHEMA_DEAD_LETTERS_PER_HOUR = 10;
/** The hour the count is summed over (the condition's alignment period): a stray poison message (one per smoke run and topic) stays well under the threshold. */
export const SCHEMA_DEAD_LETTER_WINDOW_SECONDS = 3600;
