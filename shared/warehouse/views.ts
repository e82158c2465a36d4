/** The `<topic>_events_dedup` views: one row per event over the events tables (schema.ts). */
import { EVENTS_PARTITION_FIELD, eventsTableName } from './schema';

/**
 * The window of the dedup views: every copy of an event has the same event_id AND the same
 * event_time (the ce-time attribute, which redeliveries carry unchanged and redrives copy), so
 * partitioning by both still collapses the copies. Having event_time, the table's partitioning
 * column, in PARTITION BY is what lets a filter on it move below the window: such a filter removes
 * whole window partitions and cannot change which row is first in the others, so the query can prune
 * the base table's day partitions
 * (https://cloud.google.com/bigquery/docs/querying-partitioned-tables: pruning needs a filter on the
 * partitioning column at the scan). Partitioned by event_id alone, the filter has to wait for the
 * window over every partition. Check with a dry run (bytes processed).
 */
export const DEDUP_PARTITION_BY = ['event_id', EVENTS_PARTITION_FIELD] as const;

/**
 * Which copy was published first: publish times have millisecond precision, and a copy republished at
 * once can share its original's; then the lower message id (Pub/Sub numbers a topic's messages in
 * publish order; as text, so shorter first). Without it the view kept either, and an order's replay
 * in publish order (mesh parity) could put a step after the one published after it.
 */
export const FIRST_PUBLISHED = 'publish_time, LENGTH(message_id), message_id';

/** One row per event: redeliveries and republished copies collapse to the first published. */
export function dedupViewQuery(project: string, dataset: string, topic: string): string {
  return [
    `SELECT * FROM \`${project}.${dataset}.${eventsTableName(topic)}\``,
    'WHERE TRUE', // BigQuery wants a WHERE, GROUP BY or HAVING next to QUALIFY
    `QUALIFY ROW_NUMBER() OVER (PARTITION BY ${DEDUP_PARTITION_BY.join(', ')} ORDER BY ${FIRST_PUBLISHED}) = 1`,
  ].join('\n');
}
