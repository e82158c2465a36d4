import * as fs from 'node:fs';
import * as path from 'node:path';
import { MeshSpecError, formatIssue } from '../../shared/spec';
import { defaultSpec, REPO_ROOT, specFromText } from '../support/specs';

const base = fs.readFileSync(path.join(REPO_ROOT, 'mesh.yaml'), 'utf8');

/** Parses text and returns the issues as "line path: message" strings. */
function issuesOf(text: string): string[] {
  try {
    specFromText(text);
  } catch (error) {
    if (error instanceof MeshSpecError) return error.issues.map((i) => `${i.line} ${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('spec was accepted');
}

/** Unique to processor-orders in mesh.yaml. */
const PROCESSOR_ORDERS_DEADLINE = 'ackDeadline: 60s\n    retry: { minBackoff: 10s, maxBackoff: 300s }';

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('mesh spec loader', () => {
  it('loads the default spec: two topics fanned out to dashboard, processor and warehouse, plus a BigQuery archive', () => {
    const spec = defaultSpec();
    expect(Object.keys(spec.topics)).toEqual(['analytics', 'orders']);
    const byTopic = (t: string) =>
      Object.values(spec.consumers)
        .filter((c) => c.topic === t)
        .map((c) => c.service ?? c.delivery);
    expect(byTopic('analytics').sort()).toEqual(['dashboard', 'processor', 'warehouse']);
    expect(byTopic('orders').sort()).toEqual(['bigquery', 'dashboard', 'processor', 'warehouse']);
    expect(spec.topics.orders.orderingKeyField).toBe('orderId');
    expect(spec.topics.orders.eventTypes).toEqual(['order.created', 'order.paid', 'order.shipped', 'order.cancelled']);
    expect(spec.consumers['processor-orders']).toMatchObject({ delivery: 'pull', ordering: true, exactlyOnce: true, ackDeadlineSeconds: 60 });
    expect(spec.consumers['dashboard-analytics'].retry).toEqual({ minBackoffSeconds: 5, maxBackoffSeconds: 120 });
    expect(spec.services.processor.consumers).toEqual(['processor-analytics', 'processor-orders']);
    expect(spec.topics.analytics.schema.accept).toEqual({ first: 'v1', last: 'v2' });
  });

  it('applies documented defaults', () => {
    const spec = specFromText(
      base.replace(/ {2}dashboard-orders:\n( {4}.*\n)+/, '  dashboard-orders:\n    topic: orders\n    delivery: push\n    service: dashboard\n'),
    );
    expect(spec.consumers['dashboard-orders']).toMatchObject({
      ordering: false,
      exactlyOnce: false,
      ackDeadlineSeconds: 30,
      retry: { minBackoffSeconds: 10, maxBackoffSeconds: 600 },
      deadLetter: { maxAttempts: 5 },
      flowControl: { maxMessages: 1000, maxBytes: 104857600 },
    });
  });

  it.each([
    [
      'exactly-once on a push consumer',
      'dashboard-orders:\n    topic: orders\n    delivery: push',
      'dashboard-orders:\n    topic: orders\n    exactlyOnce: true\n    delivery: push',
      'consumers.dashboard-orders.exactlyOnce',
      /only with pull/,
    ],
    [
      'a consumer of an unknown topic',
      'dashboard-orders:\n    topic: orders',
      'dashboard-orders:\n    topic: orderz',
      'consumers.dashboard-orders.topic',
      /unknown topic "orderz"/,
    ],
    [
      'max attempts below 5',
      'deadLetter: { maxAttempts: 10 }\n    replay: { retention: 7d }\n    flowControl: { maxMessages: 500',
      'deadLetter: { maxAttempts: 4 }\n    replay: { retention: 7d }\n    flowControl: { maxMessages: 500',
      'consumers.processor-orders.deadLetter.maxAttempts',
      /between 5 and 100, got 4/,
    ],
    [
      'max attempts above 100',
      'deadLetter: { maxAttempts: 10 }\n    replay: { retention: 7d }\n    flowControl: { maxMessages: 500',
      'deadLetter: { maxAttempts: 101 }\n    replay: { retention: 7d }\n    flowControl: { maxMessages: 500',
      'consumers.processor-orders.deadLetter.maxAttempts',
      /got 101/,
    ],
    [
      'a filter over 256 bytes',
      'dashboard-orders:\n    topic: orders',
      `dashboard-orders:\n    filter: 'attributes.x = "${'y'.repeat(260)}"'\n    topic: orders`,
      'consumers.dashboard-orders.filter',
      /at most 256/,
    ],
    [
      'an unknown service',
      'service: warehouse\n    ackDeadline: 60s\n    retry: { minBackoff: 10s, maxBackoff: 600s }\n    deadLetter: { maxAttempts: 20 }\n    replay: { retention: 7d }\n    flowControl: { maxMessages: 5000, maxBytes: 52428800 }\n    lagSlo: { oldestUnacked: 15m, backlog: 100000 }\n\n  processor-orders',
      'service: storehouse\n    ackDeadline: 60s\n    retry: { minBackoff: 10s, maxBackoff: 600s }\n    deadLetter: { maxAttempts: 20 }\n    replay: { retention: 7d }\n    flowControl: { maxMessages: 5000, maxBytes: 52428800 }\n    lagSlo: { oldestUnacked: 15m, backlog: 100000 }\n\n  processor-orders',
      'consumers.warehouse-analytics.service',
      /unknown service "storehouse"/,
    ],
    [
      'ordering on a topic without an ordering key',
      'dashboard-analytics:\n    topic: analytics',
      'dashboard-analytics:\n    ordering: true\n    topic: analytics',
      'consumers.dashboard-analytics.ordering',
      /no orderingKey/,
    ],
    [
      'an ack deadline over 600s',
      PROCESSOR_ORDERS_DEADLINE,
      PROCESSOR_ORDERS_DEADLINE.replace('60s', '11m'),
      'consumers.processor-orders.ackDeadline',
      /between 10s and 600s/,
    ],
    [
      'a misspelt key',
      'dashboard-orders:\n    topic: orders',
      'dashboard-orders:\n    exactlyonce: true\n    topic: orders',
      'consumers.dashboard-orders.exactlyonce',
      /unknown key "exactlyonce"/,
    ],
    ['a bad duration', PROCESSOR_ORDERS_DEADLINE, PROCESSOR_ORDERS_DEADLINE.replace('60s', 'soon'), 'consumers.processor-orders.ackDeadline', /duration/],
    [
      'a replay window longer than the topic keeps messages',
      '    retention: 7d\n    orderingKey',
      '    retention: 1d\n    orderingKey',
      'consumers.processor-orders.replay.retention',
      /longer than topic "orders"/,
    ],
    ['a bigquery consumer without a table', '    table: raw_orders\n', '', 'consumers.archive-orders', /needs "table"/],
    [
      'an ordering key field missing from the schema',
      'orderingKey: orderId',
      'orderingKey: orderNumber',
      'topics.orders.orderingKey',
      /"orderNumber" must be a string field/,
    ],
    [
      'a revision with no file',
      'revisions: [v1, v2] }\n    eventTypes: [order',
      'revisions: [v1, v2, v3] }\n    eventTypes: [order',
      'topics.orders.schema.revisions.2',
      /does not exist/,
    ],
    ['two services on one port', 'localPort: 8083', 'localPort: 8082', 'services.warehouse.localPort', /port 8082 is already used by services.processor/],
  ])('rejects %s with its location', (_what, find, replace, at, message) => {
    expect(base.includes(find)).toBe(true);
    const text = base.replace(find, replace);
    // One message per wrong value: only the replay case has two (two consumers outlive the topic).
    const issues = issuesOf(text);
    expect(issues).toHaveLength(at.endsWith('replay.retention') ? 2 : 1);
    const [line, pathAndMessage] = [Number(issues[0].split(' ')[0]), issues[0].slice(issues[0].indexOf(' ') + 1)];
    expect(pathAndMessage.startsWith(`${at}: `)).toBe(true);
    expect(pathAndMessage).toMatch(message);
    // The line points into the consumer or topic that is wrong, never at the top of the file.
    expect(line).toBeGreaterThan(lineOf(text, `  ${at.split('.')[1]}:`) - 1);
  });

  it('reports every error at once, one message each, with file:line:column', () => {
    const text = base
      .replace('dashboard-orders:\n    topic: orders', 'dashboard-orders:\n    exactlyOnce: true\n    topic: nowhere')
      .replace('deadLetter: { maxAttempts: 20 }', 'deadLetter: { maxAttempts: 200 }');
    try {
      specFromText(text);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(MeshSpecError);
      const lines = (error as MeshSpecError).issues.map(formatIssue);
      expect(lines).toHaveLength(3);
      expect(lines.join('\n')).toMatch(/test-spec\.yaml:\d+:\d+ consumers\.dashboard-orders\.topic: unknown topic "nowhere"/);
      expect(lines.join('\n')).toMatch(/consumers\.dashboard-orders\.exactlyOnce: exactly-once/);
      expect(lines.join('\n')).toMatch(/consumers\.warehouse-analytics\.deadLetter\.maxAttempts: .*got 200/);
      expect((error as Error).message).toMatch(/^mesh spec has 3 errors:/);
    }
  });

  it('reports YAML syntax errors with their line, never 0', () => {
    const issues = issuesOf(base.replace('version: 1', 'version: 1\n  bad: [unclosed'));
    expect(issues[0]).toMatch(/^\d+ : YAML:/);
    const line = Number(issues[0].split(' ')[0]);
    expect(line).toBeGreaterThanOrEqual(lineOf(base, 'version: 1'));
    expect(line).toBeLessThanOrEqual(lineOf(base, 'version: 1') + 2);
  });

  it('merges `<<: *anchor` (anchors may live under x- keys), and refuses a merge of anything but a mapping, where it is', () => {
    const consumer = 'dashboard-analytics:\n    topic: analytics';
    const withDefaults = (merge: string) =>
      base
        .replace('consumers:\n', 'x-consumer-defaults: &defaults\n  deadLetter: { maxAttempts: 7 }\nconsumers:\n')
        .replace(consumer, `${consumer}\n    <<: ${merge}`);
    const text = withDefaults('*defaults').replace(/(dashboard-analytics:[\s\S]*?)deadLetter: \{ maxAttempts: \d+ \}\n\s*/, '$1');
    expect(specFromText(text).consumers['dashboard-analytics'].deadLetter.maxAttempts).toBe(7);
    for (const [merge, says] of [
      ['5', /"<<" merges the keys of a mapping .*given a value that is not a mapping/],
      ['*nowhere', /given \*nowhere, an anchor not defined before it/],
    ] as const) {
      const bad = withDefaults(merge);
      const issues = issuesOf(bad);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatch(says);
      expect(Number(issues[0].split(' ')[0])).toBe(lineOf(bad, `<<: ${merge}`));
    }
  });

  const v1 = {
    type: 'record',
    name: 'E',
    fields: [
      { name: 'a', type: 'string' },
      { name: 'n', type: 'int', default: 0 },
    ],
  };
  it.each([
    [
      'a field added without a default',
      [...v1.fields, { name: 'b', type: 'string' }],
      /field "b": .*readers of v2 cannot read events written with v1 \(BACKWARD\): v2 has it without a default/,
    ],
    [
      'a field removed that had no default',
      [v1.fields[1]],
      /field "a": .*readers of v1 cannot read events written with v2 \(FORWARD\): v1 has it without a default and v2 events lack it/,
    ],
    ['a type changed', [{ name: 'a', type: 'boolean' }, v1.fields[1]], /field "a": .*\(BACKWARD\): its type changed: v2 reads boolean, v1 writes string/],
    [
      'a type widened one way only',
      [v1.fields[0], { name: 'n', type: 'long', default: 0 }],
      /field "n": .*\(FORWARD\): its type changed: v1 reads int, v2 writes long/,
    ],
  ])('refuses a schema revision that breaks the default FULL_TRANSITIVE mode, naming the field and direction: %s', (_what, fields, cause) => {
    const dir = fs.mkdtempSync(path.join(REPO_ROOT, 'test', '.tmp-schemas-'));
    try {
      fs.writeFileSync(path.join(dir, 'v1.avsc'), JSON.stringify(v1));
      fs.writeFileSync(path.join(dir, 'v2.avsc'), JSON.stringify({ ...v1, fields }));
      const text = base.replace(
        'schema: { dir: schemas/analytics, revisions: [v1, v2] }',
        `schema: { dir: ${path.relative(REPO_ROOT, dir)}, revisions: [v1, v2] }`,
      );
      const issues = issuesOf(text);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatch(/topics\.analytics\.schema\.revisions\.1: v2: field "\w+": FULL_TRANSITIVE: readers of /);
      expect(issues[0]).toMatch(cause);
      expect(issues[0]).not.toMatch(/new fields need defaults/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unions, which would force producers into wrapped JSON', () => {
    const dir = fs.mkdtempSync(path.join(REPO_ROOT, 'test', '.tmp-schemas-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'v1.avsc'),
        JSON.stringify({ type: 'record', name: 'E', fields: [{ name: 'a', type: ['null', 'string'], default: null }] }),
      );
      const text = base.replace(
        'schema: { dir: schemas/analytics, revisions: [v1, v2] }',
        `schema: { dir: ${path.relative(REPO_ROOT, dir)}, revisions: [v1] }`,
      );
      expect(issuesOf(text)[0]).toMatch(/field "a" is a union/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
