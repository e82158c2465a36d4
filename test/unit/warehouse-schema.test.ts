/** Table layouts derived from the spec (pure; the warehouse service reuses them). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSpec, parseSpec } from '../../shared/spec';
import {
  bigQueryTypeOf,
  dedupViewQuery,
  ENVELOPE_COLUMNS,
  TRAILING_ENVELOPE_COLUMNS,
  eventsTableName,
  eventsTableSchema,
  snakeCase,
  warehouseProblems,
} from '../../shared/warehouse';
const REPO = path.resolve(__dirname, '..', '..');

const spec = loadSpec(path.join(REPO, 'mesh.yaml'));

/** Writes `<dir>/v1.avsc`: a record E with these fields. */
const writeRecord = (dir: string, fields: Record<string, unknown>[]) =>
  fs.writeFileSync(path.join(dir, 'v1.avsc'), JSON.stringify({ type: 'record', name: 'E', fields }));

describe('eventsTableSchema', () => {
  it('has the envelope columns, then one typed column per field of the current revision', () => {
    const fields = eventsTableSchema(spec.topics.analytics);
    expect(fields.map((f) => `${f.name}:${f.type}:${f.mode}`)).toEqual([
      'event_id:STRING:REQUIRED',
      'event_type:STRING:NULLABLE',
      'source:STRING:NULLABLE',
      'subject:STRING:NULLABLE',
      'event_time:TIMESTAMP:NULLABLE',
      'schema_version:STRING:NULLABLE',
      'publish_time:TIMESTAMP:NULLABLE',
      'message_id:STRING:NULLABLE',
      'ordering_key:STRING:NULLABLE',
      'attributes:JSON:NULLABLE',
      'replay_id:STRING:NULLABLE',
      'data:JSON:NULLABLE',
      'user_id:STRING:NULLABLE',
      'session_id:STRING:NULLABLE',
      'page:STRING:NULLABLE',
      'element:STRING:NULLABLE',
      'post_id:STRING:NULLABLE',
      'country:STRING:NULLABLE', // v2
      'duration_ms:INT64:NULLABLE', // v2 long
      'extensions:JSON:NULLABLE', // last: added after tables were deployed, and BigQuery appends new columns
    ]);
    expect(
      eventsTableSchema(spec.topics.orders)
        .slice(ENVELOPE_COLUMNS.length, -TRAILING_ENVELOPE_COLUMNS.length)
        .map((f) => `${f.name}:${f.type}`),
    ).toEqual([
      'order_id:STRING',
      'customer_id:STRING',
      'sequence:INT64',
      'amount_cents:INT64',
      'currency:STRING',
      'item_count:INT64',
      'reason:STRING',
      'carrier:STRING',
    ]);
  });

  it('maps Avro types', () => {
    expect(['string', 'int', 'long', 'float', 'double', 'boolean'].map((t) => bigQueryTypeOf(t))).toEqual([
      'STRING',
      'INT64',
      'INT64',
      'FLOAT64',
      'FLOAT64',
      'BOOL',
    ]);
    expect(bigQueryTypeOf({ type: 'enum', symbols: ['A'] })).toBe('STRING');
    expect(bigQueryTypeOf({ type: 'long', logicalType: 'timestamp-millis' })).toBe('INT64');
    expect(bigQueryTypeOf({ type: 'array', items: 'string' })).toBe('JSON');
  });

  it('snake_cases names', () => {
    expect(['userId', 'durationMs', 'HTTPStatus', 'already_snake', 'x2Y'].map(snakeCase)).toEqual([
      'user_id',
      'duration_ms',
      'http_status',
      'already_snake',
      'x2_y',
    ]);
  });

  it('prefixes payload fields named like envelope columns, and reports fields that collide', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-schema-'));
    writeRecord(dir, [
      { name: 'source', type: 'string' },
      { name: 'userId', type: 'string' },
      { name: 'user_id', type: 'string', default: '' },
    ]);
    const bad = parseSpec(
      `version: 1\nproject: p1x\ntopics:\n  my-topic:\n    schema: { dir: ${dir}, revisions: [v1] }\n    eventTypes: [a]\nservices: {}\nconsumers:\n  c-1:\n    topic: my-topic\n    delivery: bigquery\n    table: my_topic_events\nwarehouse:\n  dataset: d\n`,
      path.join(dir, 'mesh.yaml'),
    );
    expect(eventsTableName('my-topic')).toBe('my_topic_events');
    expect(warehouseProblems(bad)).toEqual([
      'topic my-topic: fields "userId" and "user_id" both map to column "user_id"',
      'warehouse table "my_topic_events" of bigquery consumer table my_topic_events is already topic my-topic',
    ]);
    writeRecord(dir, [
      { name: 'source', type: 'string' },
      { name: 'extensions', type: 'string' },
    ]);
    expect(eventsTableSchema(bad.topics['my-topic']).map((f) => f.name)).toEqual(
      expect.arrayContaining(['payload_source', 'payload_extensions', 'extensions']),
    );
  });

  it('has no problems for the repository spec', () => {
    expect(warehouseProblems(spec)).toEqual([]);
  });
});

describe('dedupViewQuery', () => {
  it('keeps the first published row per event, windowed by event id and event time so event_time filters prune', () => {
    expect(dedupViewQuery('p', 'd', 'orders')).toBe(
      'SELECT * FROM `p.d.orders_events`\nWHERE TRUE\nQUALIFY ROW_NUMBER() OVER (PARTITION BY event_id, event_time ORDER BY publish_time, LENGTH(message_id), message_id) = 1',
    );
  });
});
