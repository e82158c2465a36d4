/**
 * BigQuery table layouts derived from the spec: the contract between infra/warehouse.ts, which creates
 * the tables in GCP, the warehouse service, which creates them locally (services/warehouse/tables.ts),
 * checks them (verify.ts) and maps events onto the same columns (rows.ts here), and the tools that
 * query them. Pure functions, no client.
 *
 * An events table holds the CloudEvents envelope, the raw payload as JSON (so nothing is ever lost,
 * even fields added by a later revision) and one typed column per field of the topic's current
 * schema revision, for analysts.
 */
import { TopicSchemas } from '../schemas/topic-schemas';
import type { TopicSpec } from '../spec';

export type BigQueryType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP' | 'JSON' | 'BYTES';

export interface BigQueryField {
  name: string;
  type: BigQueryType;
  mode: 'REQUIRED' | 'NULLABLE';
  description?: string;
}

/** Envelope columns every events table starts with. */
export const ENVELOPE_COLUMNS: readonly BigQueryField[] = [
  { name: 'event_id', type: 'STRING', mode: 'REQUIRED', description: 'CloudEvents id (UUIDv7); the idempotency key.' },
  { name: 'event_type', type: 'STRING', mode: 'NULLABLE', description: 'CloudEvents type, e.g. order.created.' },
  { name: 'source', type: 'STRING', mode: 'NULLABLE', description: 'CloudEvents source: the producer.' },
  { name: 'subject', type: 'STRING', mode: 'NULLABLE', description: 'CloudEvents subject.' },
  { name: 'event_time', type: 'TIMESTAMP', mode: 'NULLABLE', description: 'When the event happened (CloudEvents time); the partitioning column.' },
  { name: 'schema_version', type: 'STRING', mode: 'NULLABLE', description: 'Schema revision the producer wrote (v1, v2 ...).' },
  { name: 'publish_time', type: 'TIMESTAMP', mode: 'NULLABLE', description: 'When Pub/Sub accepted the message.' },
  { name: 'message_id', type: 'STRING', mode: 'NULLABLE', description: 'Pub/Sub message id (differs between redeliveries of a republished event).' },
  { name: 'ordering_key', type: 'STRING', mode: 'NULLABLE', description: 'Pub/Sub ordering key, if any.' },
  { name: 'attributes', type: 'JSON', mode: 'NULLABLE', description: 'All message attributes.' },
  { name: 'replay_id', type: 'STRING', mode: 'NULLABLE', description: 'The replay that sent this copy (mesh replay); NULL for real-time deliveries.' },
  { name: 'data', type: 'JSON', mode: 'NULLABLE', description: 'The payload as published.' },
];

/**
 * Envelope columns added after tables were first deployed. They come after the payload columns: BigQuery
 * only ever appends a new column at the end of a table (https://cloud.google.com/bigquery/docs/managing-table-schemas
 * "Add a column"), so with them last the schema infra deploys to an existing table is its old schema plus
 * the new column, an in-place update, and a table created now has the same column order as an old one.
 * (Columns are matched by name everywhere else: the local store's patch and verify.ts.)
 */
export const TRAILING_ENVELOPE_COLUMNS: readonly BigQueryField[] = [
  {
    name: 'extensions',
    type: 'JSON',
    mode: 'NULLABLE',
    description: 'CloudEvents extension attributes the producer set, name -> string, traceparent and tracestate included; NULL when none.',
  },
];

export const EVENTS_PARTITION_FIELD = 'event_time';
export const EVENTS_CLUSTERING = ['event_type'];

/** BigQuery table ids allow letters, digits and underscores; topic names may also have . ~ + % -. */
const tableId = (text: string) => text.replace(/[^A-Za-z0-9_]/g, '_');
export const eventsTableName = (topic: string) => `${tableId(topic)}_events`;
export const eventsDedupViewName = (topic: string) => `${tableId(topic)}_events_dedup`;
export const DEAD_LETTERS_TABLE = 'dead_letters';

/** userId -> user_id, durationMs -> duration_ms, HTTPStatus -> http_status. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .toLowerCase();
}

/** Column of a payload field; a field named like an envelope column gets a payload_ prefix. */
export function payloadColumnName(field: string): string {
  const column = snakeCase(field);
  return ENVELOPE_COLUMNS.some((c) => c.name === column) || TRAILING_ENVELOPE_COLUMNS.some((c) => c.name === column) ? `payload_${column}` : column;
}

type AvroType = string | { type: AvroType; logicalType?: string; items?: unknown; values?: unknown; symbols?: string[] } | AvroType[];

/** Avro string->STRING, int/long->INT64, float/double->FLOAT64, boolean->BOOL; enums are strings; nested values stay JSON. */
export function bigQueryTypeOf(avro: AvroType): BigQueryType {
  if (typeof avro === 'string') {
    switch (avro) {
      case 'string':
        return 'STRING';
      case 'int':
      case 'long':
        return 'INT64';
      case 'float':
      case 'double':
        return 'FLOAT64';
      case 'boolean':
        return 'BOOL';
      case 'bytes':
        return 'BYTES';
      default:
        return 'JSON'; // a named record/enum reference or anything nested
    }
  }
  if (Array.isArray(avro)) return 'JSON';
  if (avro.type === 'enum') return 'STRING';
  if (typeof avro.type === 'string' && ['string', 'int', 'long', 'float', 'double', 'boolean', 'bytes'].includes(avro.type)) return bigQueryTypeOf(avro.type);
  return 'JSON';
}

/** Columns of `<topic>_events`: envelope, then one typed column per field of the current revision, then the trailing envelope columns. */
export function eventsTableSchema(topic: TopicSpec): BigQueryField[] {
  const current = TopicSchemas.load(topic).current;
  const record = JSON.parse(current.definition) as { fields: { name: string; type: AvroType; doc?: string }[] };
  const fields: BigQueryField[] = [...ENVELOPE_COLUMNS];
  const seen = new Map([...fields, ...TRAILING_ENVELOPE_COLUMNS].map((f) => [f.name, '(envelope)']));
  for (const field of record.fields) {
    const name = payloadColumnName(field.name);
    const clash = seen.get(name);
    if (clash) throw new Error(`topic ${topic.name}: fields "${clash}" and "${field.name}" both map to column "${name}"`);
    seen.set(name, field.name);
    // NULLABLE: rows written by an older revision may lack newer fields.
    fields.push({ name, type: bigQueryTypeOf(field.type), mode: 'NULLABLE', description: field.doc ?? `${current.name} field ${field.name}` });
  }
  return [...fields, ...TRAILING_ENVELOPE_COLUMNS];
}

/** What the warehouse service writes when it gives up on an event (and what the DLQ triage reads). */
export const deadLettersTableSchema = (): BigQueryField[] => [
  { name: 'event_id', type: 'STRING', mode: 'NULLABLE', description: 'CloudEvents id, when the message had one.' },
  { name: 'consumer', type: 'STRING', mode: 'REQUIRED', description: 'The consumer that dead-lettered it.' },
  { name: 'topic', type: 'STRING', mode: 'REQUIRED' },
  { name: 'reason', type: 'STRING', mode: 'NULLABLE', description: 'Short machine-readable cause (schema, poison, max-attempts ...).' },
  { name: 'error', type: 'STRING', mode: 'NULLABLE', description: 'The error message.' },
  { name: 'attributes', type: 'JSON', mode: 'NULLABLE' },
  { name: 'data', type: 'STRING', mode: 'NULLABLE', description: 'Payload as received; STRING because it may not be valid JSON.' },
  { name: 'dead_lettered_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'The partitioning column.' },
];

/** Every parity run's verdicts (tools/parity/record.ts writes it, docs/parity.md reads it). */
export const PARITY_RESULTS_TABLE = 'parity_results';
export const PARITY_RESULTS_PARTITION_FIELD = 'run_at';

/** One row per run, topic and window (`window_key` = `range` for the processor's all-time entity checks). */
export const parityResultsTableSchema = (): BigQueryField[] => [
  { name: 'run_id', type: 'STRING', mode: 'REQUIRED', description: 'One parity run; every row it wrote shares it.' },
  { name: 'run_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When the run judged; the partitioning column.' },
  { name: 'target', type: 'STRING', mode: 'NULLABLE', description: 'gcp, or local for `npm start`.' },
  { name: 'topic', type: 'STRING', mode: 'REQUIRED' },
  { name: 'granularity', type: 'STRING', mode: 'NULLABLE', description: 'hour or minute windows.' },
  { name: 'window_key', type: 'STRING', mode: 'REQUIRED', description: 'The window (2026-12-04T03), or range.' },
  { name: 'window_start', type: 'TIMESTAMP', mode: 'NULLABLE' },
  { name: 'window_end', type: 'TIMESTAMP', mode: 'NULLABLE', description: 'Exclusive.' },
  { name: 'verdict', type: 'STRING', mode: 'REQUIRED', description: 'ok, pending or mismatch (the worst of its checks).' },
  { name: 'checks', type: 'INT64', mode: 'NULLABLE' },
  { name: 'agree', type: 'INT64', mode: 'NULLABLE' },
  { name: 'pending', type: 'INT64', mode: 'NULLABLE' },
  { name: 'mismatches', type: 'INT64', mode: 'NULLABLE' },
  { name: 'differences', type: 'JSON', mode: 'NULLABLE', description: 'Array of {check, item, sink, summary, sample} for each check not ok.' },
];

/** Every replay's history (shared/replay/audit.ts writes it, `mesh replay list|show` read it). */
export const REPLAY_AUDIT_TABLE = 'replay_audit';
export const REPLAY_AUDIT_PARTITION_FIELD = 'recorded_at';

/** One row per step of a replay: requested, started, progress, then completed, failed or cancelled. */
export const replayAuditTableSchema = (): BigQueryField[] => [
  { name: 'replay_id', type: 'STRING', mode: 'REQUIRED', description: 'The replay; its messages carry it (attribute replayId), its effects record it.' },
  { name: 'recorded_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When this step was recorded; the partitioning column.' },
  {
    name: 'state',
    type: 'STRING',
    mode: 'REQUIRED',
    description: 'requested, cleared (a rebuild cleared its scope), started, progress, completed, failed or cancelled.',
  },
  { name: 'consumer', type: 'STRING', mode: 'REQUIRED', description: 'The one consumer the replay reaches.' },
  { name: 'topic', type: 'STRING', mode: 'REQUIRED' },
  { name: 'owner', type: 'STRING', mode: 'REQUIRED', description: 'Who answers for it.' },
  { name: 'intent', type: 'STRING', mode: 'REQUIRED', description: 'Why it was run.' },
  { name: 'operator', type: 'STRING', mode: 'NULLABLE', description: 'Who ran the command (OS user or GCP account).' },
  { name: 'scope', type: 'JSON', mode: 'NULLABLE', description: '{topic, from, to, keys?, keyRange?, types?}: publish times [from, to).' },
  { name: 'ceiling_per_second', type: 'FLOAT64', mode: 'NULLABLE' },
  { name: 'in_scope', type: 'INT64', mode: 'NULLABLE', description: 'Events in scope when the replay started.' },
  { name: 'sent', type: 'INT64', mode: 'NULLABLE', description: 'Events sent so far (all runs of it, resumed ones included).' },
  { name: 'checkpoint', type: 'JSON', mode: 'NULLABLE', description: '{publishTime, eventId} of the last event sent: where a resume goes on.' },
  { name: 'elapsed_seconds', type: 'FLOAT64', mode: 'NULLABLE', description: 'Time spent sending, all runs together.' },
  { name: 'detail', type: 'STRING', mode: 'NULLABLE', description: 'The error of a failed step, or a note.' },
];

/**
 * Every operation that changes what a consumer receives, other than a replay (replay_audit has its
 * steps): redrives now; pause, resume and canary use it too (shared/operations/audit.ts).
 */
export const OPERATIONS_AUDIT_TABLE = 'operations_audit';
export const OPERATIONS_AUDIT_PARTITION_FIELD = 'recorded_at';

/** One row per step of an operation: started, then completed or failed. */
export const operationsAuditTableSchema = (): BigQueryField[] => [
  { name: 'operation_id', type: 'STRING', mode: 'REQUIRED', description: 'The operation; each of its steps repeats it.' },
  { name: 'recorded_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When this step was recorded; the partitioning column.' },
  { name: 'operation', type: 'STRING', mode: 'REQUIRED', description: 'What was done: redrive, purge, pause or resume.' },
  { name: 'state', type: 'STRING', mode: 'REQUIRED', description: 'started, completed or failed.' },
  { name: 'consumer', type: 'STRING', mode: 'REQUIRED', description: 'The one consumer it changes.' },
  { name: 'owner', type: 'STRING', mode: 'REQUIRED', description: 'Who answers for it.' },
  { name: 'intent', type: 'STRING', mode: 'REQUIRED', description: 'Why it was run.' },
  { name: 'operator', type: 'STRING', mode: 'NULLABLE', description: 'Who ran the command (OS user or GCP account).' },
  { name: 'selection', type: 'JSON', mode: 'NULLABLE', description: 'What it was asked to act on, e.g. {reasons, eventIds, max} for a redrive.' },
  { name: 'affected', type: 'INT64', mode: 'NULLABLE', description: 'How many messages it acted on (completed).' },
  { name: 'affected_events', type: 'JSON', mode: 'NULLABLE', description: 'The event ids it acted on (the first 10,000).' },
  { name: 'detail', type: 'STRING', mode: 'NULLABLE', description: 'The error of a failed step, or a note.' },
];

/**
 * Table of a BigQuery-kind consumer, written by Pub/Sub itself (no topic or table schema mapping):
 * the payload in `data` plus the metadata columns writeMetadata adds.
 */
export const bigquerySubscriptionTableSchema = (): BigQueryField[] => [
  { name: 'subscription_name', type: 'STRING', mode: 'NULLABLE' },
  { name: 'message_id', type: 'STRING', mode: 'NULLABLE' },
  { name: 'publish_time', type: 'TIMESTAMP', mode: 'NULLABLE', description: 'The partitioning column.' },
  // STRING is a type every BigQuery subscription accepts for `data`; the text is JSON (JSON_VALUE works on it).
  { name: 'data', type: 'STRING', mode: 'NULLABLE', description: 'The message payload: JSON-encoded Avro.' },
  { name: 'attributes', type: 'JSON', mode: 'NULLABLE' },
];
